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

	// RecordFinalizer keeps a deleted PodSet around until the operator has
	// deleted the PodSet's record in the registry namespace. The record lives
	// outside the PodSet's namespace, where an ownerReference cannot reach, so
	// the garbage collector cannot delete it; the Pods need no finalizer, their
	// ownerReferences let the garbage collector delete them.
	RecordFinalizer = "workshop.example.com/record"

	// RecordNamespaceLabel and RecordNameLabel are set on a PodSet's record
	// to the PodSet's namespace and name.
	RecordNamespaceLabel = "workshop.example.com/podset-namespace"
	RecordNameLabel      = "workshop.example.com/podset-name"
)

// Condition types reported in PodSetStatus.Conditions.
const (
	// ConditionAvailable is True when at least the desired number of Pods are
	// Ready.
	ConditionAvailable = "Available"
	// ConditionProgressing is True while the operator is creating, deleting
	// or waiting for Pods.
	ConditionProgressing = "Progressing"
	// ConditionDegraded is True when the operator cannot do what the spec
	// asks: Pod creation or deletion failed, or a limit from the
	// OperatorConfig applies.
	ConditionDegraded = "Degraded"
)

// PodSetSpec is the desired state of a PodSet.
//
// The rules below are checked by the API server (CEL, x-kubernetes-validations)
// before an object is stored, so the operator never sees a PodSet whose Pods
// would not match its own selector.
//
// Bounds a single field can state (minimum, maximum, sizes) are OpenAPI
// markers; CEL is for what they cannot say: rules across fields and rules
// about a change (transition rules, which compare with oldSelf).
//
// +kubebuilder:validation:XValidation:rule="self.selector.matchLabels.all(k, has(self.template.metadata) && has(self.template.metadata.labels) && k in self.template.metadata.labels && self.template.metadata.labels[k] == self.selector.matchLabels[k])",message="every label in spec.selector.matchLabels must appear with the same value in spec.template.metadata.labels, otherwise the PodSet could not find the Pods it creates"
type PodSetSpec struct { // START spec OMIT
	// Replicas is the number of Pods the PodSet keeps running, between 0 and
	// 100. Nil means 1; an OperatorConfig may lower the effective maximum.
	//
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
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
	// MatchLabels are labels every Pod of the PodSet carries: at least one,
	// at most 16, and not PodSetLabel, which the operator sets itself.
	//
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="!('workshop.example.com/podset' in self)",message="spec.selector.matchLabels must not name workshop.example.com/podset: the operator adds that label itself"
	MatchLabels map[string]string `json:"matchLabels"`
}

// PodLabels returns the labels that make a Pod one of this PodSet's:
// spec.selector.matchLabels plus PodSetLabel with the PodSet's name. They are
// the one source for what the operator puts on the Pods it creates, which Pods
// it lists and counts, and status.selector, which `kubectl scale` and
// autoscalers read; the operator further counts only Pods it controls.
func (p *PodSet) PodLabels() map[string]string {
	l := make(map[string]string, len(p.Spec.Selector.MatchLabels)+1)
	for k, v := range p.Spec.Selector.MatchLabels {
		l[k] = v
	}
	l[PodSetLabel] = p.Name
	return l
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

	// Selector selects the PodSet's Pods in label-selector string form (see
	// PodLabels); the scale subresource reports it so that autoscalers can
	// find the Pods.
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
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="the name must fit a label value: at most 63 characters"
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
