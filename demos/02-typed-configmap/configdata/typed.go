package configdata

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ConfigMap is a typed view of a core/v1 ConfigMap: the object's metadata plus its data
// decoded into T. On the server it is still an ordinary ConfigMap.
// START typedview OMIT
type ConfigMap[T any] struct {
	metav1.ObjectMeta
	Data T
}

// END typedview OMIT

// FromConfigMap decodes cm into a typed view. Keys are looked up in data first, then in
// binaryData. On a *ValidationError the view is still returned, with the good keys
// filled, so callers can report which object failed.
// START fromconfigmap OMIT
func FromConfigMap[T any](cm *corev1.ConfigMap) (*ConfigMap[T], error) {
	view := &ConfigMap[T]{ObjectMeta: *cm.ObjectMeta.DeepCopy()}
	err := decode(func(k string) (string, bool) {
		if v, ok := cm.Data[k]; ok {
			return v, true
		}
		v, ok := cm.BinaryData[k]
		return string(v), ok
	}, &view.Data)
	if err != nil {
		return view, fmt.Errorf("configmap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return view, nil
}

// END fromconfigmap OMIT

// ToConfigMap renders the view back into a core/v1 ConfigMap.
func (c *ConfigMap[T]) ToConfigMap() (*corev1.ConfigMap, error) {
	data, err := Marshal(&c.Data)
	if err != nil {
		return nil, err
	}
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: *c.ObjectMeta.DeepCopy(),
		Data:       data,
	}, nil
}

// GetConfigMap reads the ConfigMap key with any controller-runtime reader and decodes it.
// The error wraps the API error unchanged, so apierrors.IsNotFound works on it.
func GetConfigMap[T any](ctx context.Context, r client.Reader, key client.ObjectKey) (*ConfigMap[T], error) {
	cm := &corev1.ConfigMap{}
	if err := r.Get(ctx, key, cm); err != nil {
		return nil, fmt.Errorf("reading configmap %s: %w", key, err)
	}
	return FromConfigMap[T](cm)
}

// Secret is a typed view of a core/v1 Secret: metadata plus data decoded into T.
type Secret[T any] struct {
	metav1.ObjectMeta
	Type corev1.SecretType
	Data T
}

// FromSecret decodes s into a typed view. Keys are looked up in data, then in
// stringData (which only a not-yet-submitted Secret carries).
func FromSecret[T any](s *corev1.Secret) (*Secret[T], error) {
	view := &Secret[T]{ObjectMeta: *s.ObjectMeta.DeepCopy(), Type: s.Type}
	err := decode(func(k string) (string, bool) {
		if v, ok := s.Data[k]; ok {
			return string(v), true
		}
		v, ok := s.StringData[k]
		return v, ok
	}, &view.Data)
	if err != nil {
		return view, fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return view, nil
}

// ToSecret renders the view back into a core/v1 Secret.
func (s *Secret[T]) ToSecret() (*corev1.Secret, error) {
	data, err := MarshalBytes(&s.Data)
	if err != nil {
		return nil, err
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: *s.ObjectMeta.DeepCopy(),
		Type:       s.Type,
		Data:       data,
	}, nil
}
