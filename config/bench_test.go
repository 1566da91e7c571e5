package config

import (
	"os"
	"testing"
)

// BenchmarkParseTodoList measures a full load of the TodoList example
// (decode, expand, default, validate): the cost of a ConfigMap hot reload.
func BenchmarkParseTodoList(b *testing.B) {
	data, err := os.ReadFile("testdata/todolist.yml")
	if err != nil {
		b.Fatal(err)
	}
	env := envWith(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, "todolist.yml", env); err != nil {
			b.Fatal(err)
		}
	}
}
