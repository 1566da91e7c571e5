package controllers

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// register adds c to reg and returns the collector to use: c, or the equal
// one registered before (several runnables of one process, or of tests,
// share a registry). A nil reg leaves c unregistered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if existing, ok := already.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic("register metric: " + err.Error())
	}
	return c
}
