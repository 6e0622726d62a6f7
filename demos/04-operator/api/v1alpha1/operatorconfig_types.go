package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OperatorConfigName is the only name an OperatorConfig may have.
const OperatorConfigName = "singleton"

// OperatorConfigSpec holds operator-wide defaults. Every field is optional;
// an absent OperatorConfig or field means "no limit" or "no default".
type OperatorConfigSpec struct {
	// MaxReplicasPerPodSet caps the number of Pods the operator creates for
	// any single PodSet, whatever its spec.replicas says. A PodSet that asks
	// for more reports Degraded=True with reason LimitedByOperatorConfig.
	//
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxReplicasPerPodSet *int32 `json:"maxReplicasPerPodSet,omitempty"`

	// DefaultImage is used for every container of a PodSet template that
	// does not name an image.
	//
	// +kubebuilder:validation:MinLength=1
	// +optional
	DefaultImage string `json:"defaultImage,omitempty"`
} // START singleton OMIT

// OperatorConfig is the cluster-wide configuration of the PodSet operator.
// Only one may exist, and it must be named "singleton".
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=workshop
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'singleton'",message="an OperatorConfig must be named 'singleton': only one may exist per cluster"
// +kubebuilder:printcolumn:name="Max-Replicas",type=integer,JSONPath=`.spec.maxReplicasPerPodSet`
// +kubebuilder:printcolumn:name="Default-Image",type=string,JSONPath=`.spec.defaultImage`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type OperatorConfig struct { // END singleton OMIT
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the operator-wide defaults.
	// +optional
	Spec OperatorConfigSpec `json:"spec,omitempty"`
}

// OperatorConfigList is a list of OperatorConfigs.
//
// +kubebuilder:object:root=true
type OperatorConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the OperatorConfigs.
	Items []OperatorConfig `json:"items"`
}

func init() {
	SchemeBuilder.Register(&OperatorConfig{}, &OperatorConfigList{})
}
