package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Labels every object agent-smith creates carries (Kubernetes' recommended
// labels), and the one the cache selects on.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelInstance  = "app.kubernetes.io/instance"
	AppName        = "agent-smith"
)

// CacheOptions restricts the manager's informers to the namespace and to
// what agent-smith owns: Pods labeled managed-by=agent-smith and the single
// config ConfigMap. A namespace shared with thousands of unrelated pods then
// costs the orchestrator no memory and no watch traffic.
func CacheOptions(namespace, configMapName string) cache.Options {
	return cache.Options{
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {
				Label: labels.SelectorFromSet(labels.Set{LabelManagedBy: AppName}),
			},
			&corev1.ConfigMap{}: {
				Field: fields.OneTermEqualSelector("metadata.name", configMapName),
			},
		},
	}
}
