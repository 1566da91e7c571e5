package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// shippedRedis is the redis.conf and the container script of
// manifests/redis.yaml.
func shippedRedis() (conf, script string, err error) {
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "manifests", "redis.yaml"))
	if err != nil {
		return "", "", err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", fmt.Errorf("manifests/redis.yaml: %w", err)
		}
		switch u.GetKind() {
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &cm); err != nil {
				return "", "", err
			}
			conf = cm.Data["redis.conf"]
		case "StatefulSet":
			var sts appsv1.StatefulSet
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &sts); err != nil {
				return "", "", err
			}
			if c := sts.Spec.Template.Spec.Containers; len(c) == 1 && len(c[0].Args) == 1 {
				script = c[0].Args[0]
			}
		}
	}
	if conf == "" || script == "" {
		return "", "", errors.New("manifests/redis.yaml: no redis.conf or container script")
	}
	return conf, script, nil
}

// shipConfig writes the shipped configuration into the server's directory,
// its paths moved there, and picks the password.
func (r *Redis) shipConfig() error {
	conf, script, err := shippedRedis()
	if err != nil {
		return err
	}
	acl, confPath := filepath.Join(r.dir, "users.acl"), filepath.Join(r.dir, "redis.conf")
	for _, path := range []string{"/run/redis/users.acl", "/etc/redis/redis.conf"} {
		if !strings.Contains(script+conf, path) {
			return fmt.Errorf("manifests/redis.yaml no longer uses %s: update testenv", path)
		}
	}
	conf = strings.ReplaceAll(conf, "/run/redis/users.acl", acl)
	script = strings.ReplaceAll(script, "/run/redis/users.acl", acl)
	script = strings.ReplaceAll(script, "exec redis-server /etc/redis/redis.conf", `exec redis-server `+confPath+` "$@"`)
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.dir, "start.sh"), []byte(script), 0o700); err != nil {
		return err
	}
	var pw [32]byte
	_, _ = rand.Read(pw[:])
	r.username, r.password = "agent-smith", hex.EncodeToString(pw[:])
	return nil
}
