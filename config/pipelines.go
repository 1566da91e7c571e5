package config

import "slices"

var pipelines = []string{PipelineFixBug, PipelineAddFeature, PipelineFixNoTest, PipelineInitProject}

// Pipelines lists the pipeline presets, the only pipeline names a config
// may use.
func Pipelines() []string { return slices.Clone(pipelines) }

// IsPipeline reports whether name is a pipeline preset.
func IsPipeline(name string) bool { return slices.Contains(pipelines, name) }
