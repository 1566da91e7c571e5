package config_test

import (
	"os"
	"testing"

	"github.com/agent-smith/agent-smith/config"
)

// BenchmarkParseTodoList measures a full load of the TodoList example
// (decode, expand, default, validate): the cost of a ConfigMap hot reload.
func BenchmarkParseTodoList(b *testing.B) {
	data, err := os.ReadFile("testdata/todolist.yml")
	if err != nil {
		b.Fatal(err)
	}
	env, k := envWith(nil), kinds()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := config.Parse(data, "todolist.yml", env, k); err != nil {
			b.Fatal(err)
		}
	}
}
