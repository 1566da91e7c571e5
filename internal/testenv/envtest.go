package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Versions of the control plane hack/envtest-assets.sh builds; keep in step
// with the script's defaults.
const (
	KubeVersion = "1.37.2"
	EtcdVersion = "3.7.0"
)

// AssetsDir is where hack/envtest-assets.sh leaves the binaries:
// $KUBEBUILDER_ASSETS when set, else the shared per-user cache directory.
func AssetsDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	root := os.Getenv("ENVTEST_CACHE")
	if root == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = filepath.Join(os.TempDir(), "agent-smith-cache")
		}
		root = filepath.Join(cache, "agent-smith", "envtest")
	}
	return filepath.Join(root, fmt.Sprintf("k8s-v%s-etcd-v%s", KubeVersion, EtcdVersion))
}

// ControllerManagerPath is the kube-controller-manager binary built next to
// the apiserver (used to run the real garbage collector).
func ControllerManagerPath() string { return filepath.Join(AssetsDir(), "kube-controller-manager") }

// Cluster is a running envtest control plane.
type Cluster struct {
	Env    *envtest.Environment
	Config *rest.Config
}

// StartCluster starts kube-apiserver and etcd from AssetsDir. It fails with
// the command that builds the binaries when they are missing.
func StartCluster() (*Cluster, error) {
	dir := AssetsDir()
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return nil, fmt.Errorf("envtest binary %s missing in %s: run `make envtest` (builds them from the Go module proxy, ~9 min the first time)", b, dir)
		}
	}
	env := &envtest.Environment{BinaryAssetsDirectory: dir}
	// Sandbox pods use the restricted Pod Security profile; the admission
	// plugin is on by default, the ServiceAccount one needs a controller we
	// do not run.
	api := env.ControlPlane.GetAPIServer()
	api.Configure().Append("disable-admission-plugins", "ServiceAccount")
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start envtest from %s: %w", dir, err)
	}
	// No client-side rate limiter: the apiserver's priority and fairness is
	// the limit, as with controller-runtime's defaults.
	cfg.QPS, cfg.Burst = -1, -1
	return &Cluster{Env: env, Config: cfg}, nil
}

// Stop stops the control plane.
func (c *Cluster) Stop() error { return c.Env.Stop() }

// RepoRoot is the repository's top directory (for hack/ scripts and
// manifests in tests).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}
