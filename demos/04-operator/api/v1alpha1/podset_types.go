package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Well-known names shared by the API, the reconciler and the tests.
const (
	// PodSetLabel is added to every Pod a PodSet creates; its value is the
	// PodSet's name. The operator's Pod cache only holds Pods with this label.
	PodSetLabel = "workshop.example.com/podset"

	// DrainFinalizer keeps a deleted PodSet around until all of its Pods are
	// gone.
	DrainFinalizer = "workshop.example.com/drain"

	// MaxReplicas is the upper bound of spec.replicas enforced by the CRD.
	MaxReplicas = 100
)

// Condition types reported in PodSetStatus.Conditions.
const (
	// ConditionAvailable is True when at least the desired number of Pods are
	// Ready.
	ConditionAvailable = "Available"
	// ConditionProgressing is True while the operator is creating, deleting
	// or waiting for Pods, or draining a deleted PodSet.
	ConditionProgressing = "Progressing"
	// ConditionDegraded is True when the operator cannot do what the spec
	// asks: Pod creation or deletion failed, a limit from the OperatorConfig
	// applies, or the drain on deletion is blocked.
	ConditionDegraded = "Degraded"
)

// PodSetSpec is the desired state of a PodSet.
//
// The rules below are checked by the API server (CEL, x-kubernetes-validations)
// before an object is stored, so the operator never sees a PodSet whose Pods
// would not match its own selector.
//
// +kubebuilder:validation:XValidation:rule="self.selector.matchLabels.all(k, has(self.template.metadata) && has(self.template.metadata.labels) && k in self.template.metadata.labels && self.template.metadata.labels[k] == self.selector.matchLabels[k])",message="every label in spec.selector.matchLabels must appear with the same value in spec.template.metadata.labels, otherwise the PodSet could not find the Pods it creates"
type PodSetSpec struct { // START spec OMIT
	// Replicas is the number of Pods the PodSet keeps running, between 0 and
	// 100. Nil means 1; an OperatorConfig may lower the effective maximum.
	//
	// +kubebuilder:default=1
	// +kubebuilder:validation:XValidation:rule="self >= 0 && self <= 100",message="spec.replicas must be between 0 and 100"
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Selector finds the Pods that belong to this PodSet. It is immutable:
	// changing it would orphan the running Pods.
	//
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.selector is immutable; delete the PodSet and create it again to change it"
	Selector PodSetSelector `json:"selector"`
	// END spec OMIT

	// Template describes the Pods the PodSet creates. A container without an
	// image gets the OperatorConfig's defaultImage.
	Template corev1.PodTemplateSpec `json:"template"`
}

// PodSetSelector selects the Pods of a PodSet by their labels. It reads like
// the matchLabels half of a metav1.LabelSelector, but with a bounded number of
// labels: before accepting a CRD the API server estimates the worst-case cost
// of every CEL rule, and a rule that iterates over metav1.LabelSelector's
// unbounded map is rejected as too expensive.
type PodSetSelector struct {
	// MatchLabels are labels every Pod of the PodSet carries (at most 16).
	//
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="size(self) > 0",message="spec.selector.matchLabels must name at least one label"
	MatchLabels map[string]string `json:"matchLabels"`
}

// LabelSelector returns the selector as a metav1.LabelSelector, the form
// Kubernetes APIs and helpers expect.
func (s PodSetSelector) LabelSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: s.MatchLabels}
}

// PodSetStatus is the observed state of a PodSet, computed from the
// operator's informer cache.
type PodSetStatus struct {
	// Replicas is the number of Pods owned by the PodSet that are not being
	// deleted.
	// +optional
	Replicas int32 `json:"replicas"`

	// ReadyReplicas is the number of owned Pods whose Ready condition is True.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`

	// Selector is spec.selector in its string form; the scale subresource
	// reports it so that `kubectl scale` and autoscalers can find the Pods.
	// +optional
	Selector string `json:"selector,omitempty"`

	// ObservedGeneration is the metadata.generation this status was
	// computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions are Available, Progressing and Degraded.
	//
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
} // START crdmarkers OMIT

// PodSet keeps a number of identical Pods running, like a tiny ReplicaSet.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ps,categories=workshop
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.spec.replicas`,description="Pods the spec asks for"
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`,description="Pods that are Ready"
// +kubebuilder:printcolumn:name="Available",type=string,JSONPath=`.status.conditions[?(@.type=="Available")].status`,description="Whether enough Pods are Ready"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PodSet struct { // END crdmarkers OMIT
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	Spec PodSetSpec `json:"spec"`

	// Status is the observed state, written by the operator through the
	// status subresource.
	// +optional
	Status PodSetStatus `json:"status,omitempty"`
}

// DesiredReplicas returns spec.replicas, or its default of 1 when unset.
func (p *PodSet) DesiredReplicas() int32 {
	if p.Spec.Replicas == nil {
		return 1
	}
	return *p.Spec.Replicas
}

// PodSetList is a list of PodSets.
//
// +kubebuilder:object:root=true
type PodSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the PodSets.
	Items []PodSet `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PodSet{}, &PodSetList{})
}
