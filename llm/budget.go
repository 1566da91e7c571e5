package llm

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/agent-smith/agent-smith/config"
)

// ErrBudgetExhausted is matched (errors.Is) by the error of a model call the
// run's budget refused.
var ErrBudgetExhausted = errors.New("run budget exhausted")

// BudgetError says which cap refused a model call.
type BudgetError struct {
	// Cap is "cost" or "tokens".
	Cap    string
	Detail string
}

func (e *BudgetError) Error() string { return "run " + e.Cap + " cap reached: " + e.Detail }

// Is makes errors.Is(err, ErrBudgetExhausted) true.
func (e *BudgetError) Is(target error) bool { return target == ErrBudgetExhausted }

// Budget is the run-wide account of model usage: every call of every phase
// of one run reserves its expected input before it is sent and commits its
// actual usage after. A call that would take the run over its money or
// token cap is refused, so the caps stop further calls instead of being
// noticed afterwards. Safe for concurrent use.
type Budget struct {
	maxUSD    float64
	maxTokens int

	mu            sync.Mutex
	spentUSD      float64
	spentTokens   int
	reservedUSD   float64
	reservedTok   int
	calls         []CallRecord
	phaseOrder    []string
	phases        map[string]*PhaseReport
	exhausted     string
	unpricedModel map[string]bool
}

// NewBudget returns a budget with the caps; 0 disables a cap.
func NewBudget(maxUSD float64, maxTokens int) *Budget {
	return &Budget{maxUSD: maxUSD, maxTokens: maxTokens, phases: map[string]*PhaseReport{}, unpricedModel: map[string]bool{}}
}

// BudgetFor returns a budget with the run caps of the `limits` block.
func BudgetFor(l config.Limits) *Budget { return NewBudget(l.MaxCostUSDPerRun, l.MaxTokensPerRun) }

// CallRecord is one model call as the run's report shows it.
type CallRecord struct {
	Phase    string        `json:"phase"`
	Model    string        `json:"model"`
	Usage    Usage         `json:"usage"`
	CostUSD  float64       `json:"costUSD"`
	Priced   bool          `json:"priced"`
	Duration time.Duration `json:"duration"`
	At       time.Time     `json:"at"`
}

// PhaseReport sums the calls of one phase.
type PhaseReport struct {
	Phase   string  `json:"phase"`
	Calls   int     `json:"calls"`
	Usage   Usage   `json:"usage"`
	CostUSD float64 `json:"costUSD"`
}

// Report is the budget's account for the run's result.
type Report struct {
	Usage   Usage         `json:"usage"`
	CostUSD float64       `json:"costUSD"`
	Phases  []PhaseReport `json:"phases"`
	Calls   []CallRecord  `json:"calls"`
	// MaxCostUSD and MaxTokens are the caps (0: none).
	MaxCostUSD float64 `json:"maxCostUSD"`
	MaxTokens  int     `json:"maxTokens"`
	// Exhausted is the first refusal, empty when none happened.
	Exhausted string `json:"exhausted,omitempty"`
	// UnpricedModels answered calls but have no price in the agent's
	// pricing table: their tokens count, their cost is unknown.
	UnpricedModels []string `json:"unpricedModels,omitempty"`
}

// Reservation holds a call's expected input against the caps until the
// call's actual usage is known.
type Reservation struct {
	b      *Budget
	phase  string
	price  Price
	tokens int
	usd    float64
	done   bool
}

// Reserve admits a call of phase expected to send inputTokens to a model
// with price, or refuses it with a *BudgetError.
func (b *Budget) Reserve(phase string, inputTokens int, price Price) (*Reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	usd := price.Cost(Usage{InputTokens: inputTokens})
	var err error
	switch {
	case b.maxTokens > 0 && b.spentTokens+b.reservedTok+inputTokens > b.maxTokens:
		err = &BudgetError{Cap: "tokens", Detail: fmt.Sprintf("%d of %d tokens used, the next call needs about %d more",
			b.spentTokens+b.reservedTok, b.maxTokens, inputTokens)}
	case b.maxUSD > 0 && b.spentUSD+b.reservedUSD+usd > b.maxUSD:
		err = &BudgetError{Cap: "cost", Detail: fmt.Sprintf("$%.4f of $%.2f spent, the next call needs about $%.4f more",
			b.spentUSD+b.reservedUSD, b.maxUSD, usd)}
	}
	if err != nil {
		if b.exhausted == "" {
			b.exhausted = err.Error()
		}
		return nil, err
	}
	b.reservedTok += inputTokens
	b.reservedUSD += usd
	return &Reservation{b: b, phase: phase, price: price, tokens: inputTokens, usd: usd}, nil
}

// Commit replaces the reservation by the call's actual usage and returns
// the call's record. A failed call commits its usage too (zero when the
// provider billed nothing).
func (r *Reservation) Commit(model string, u Usage, took time.Duration) CallRecord {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	r.releaseLocked()
	rec := CallRecord{Phase: r.phase, Model: model, Usage: u, CostUSD: r.price.Cost(u), Priced: r.price.Known, Duration: took, At: time.Now()}
	b.spentTokens += u.Total()
	b.spentUSD += rec.CostUSD
	b.calls = append(b.calls, rec)
	p, ok := b.phases[r.phase]
	if !ok {
		p = &PhaseReport{Phase: r.phase}
		b.phases[r.phase] = p
		b.phaseOrder = append(b.phaseOrder, r.phase)
	}
	p.Calls++
	p.Usage = p.Usage.Add(u)
	p.CostUSD += rec.CostUSD
	if !r.price.Known && model != "" {
		b.unpricedModel[model] = true
	}
	return rec
}

// Release gives the reservation back without recording a call: the call
// was never sent.
func (r *Reservation) Release() {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	r.releaseLocked()
}

func (r *Reservation) releaseLocked() {
	if r.done {
		return
	}
	r.done = true
	r.b.reservedTok -= r.tokens
	r.b.reservedUSD -= r.usd
}

// Report returns a snapshot of the account.
func (b *Budget) Report() Report {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := Report{CostUSD: b.spentUSD, MaxCostUSD: b.maxUSD, MaxTokens: b.maxTokens, Exhausted: b.exhausted,
		Calls: slices.Clone(b.calls)}
	for _, name := range b.phaseOrder {
		p := *b.phases[name]
		r.Phases = append(r.Phases, p)
		r.Usage = r.Usage.Add(p.Usage)
	}
	for m := range b.unpricedModel {
		r.UnpricedModels = append(r.UnpricedModels, m)
	}
	slices.Sort(r.UnpricedModels)
	return r
}
