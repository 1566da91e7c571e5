package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/agent-smith/agent-smith/internal/cmdline"
)

const todoList = "../../config/testdata/todolist.yml"

var todoListEnv = map[string]string{
	"AZURE_OPENAI_API_KEY":        "azure-oai-key-5555555555",
	"AZURE_DEVOPS_TOKEN":          "ado-pat-7777777777",
	"AZURE_DEVOPS_WEBHOOK_SECRET": "ado-hook-secret-8888888888",
}

// envFrom is an environment of env alone.
func envFrom(env map[string]string) Env {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func runCLI(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = Main(context.Background(), args, envFrom(env), &out, &errOut)
	return out.String(), errOut.String(), err
}

// lineWith is the 1-based number of the first line of doc containing text.
func lineWith(t *testing.T, doc, text string) int {
	t.Helper()
	for i, line := range strings.Split(doc, "\n") {
		if strings.Contains(line, text) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", text)
	return 0
}

func exitCode(err error) int {
	var exit cmdline.ExitError
	if errors.As(err, &exit) {
		return int(exit)
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestConfigValidateSummarisesAGoodFile(t *testing.T) {
	stdout, stderr, err := runCLI(t, todoListEnv, "config", "validate", "-f", todoList)
	if err != nil || stderr != "" {
		t.Fatalf("err = %v, stderr = %q", err, stderr)
	}
	for _, want := range []string{
		"projects (1)",
		"azuredevops-todolist  tracker acme-platform, agent azure-openai-default",
		"webhooks POST /webhooks/azure_devops, /webhooks/azure_devops/acme-platform",
		"todolist-docs",
		"azure_openai",
		"planning           o4-mini (deployment o4-mini): context 128000 (config), output cap 32000 of 100000, $1.10 in / $4.40 out / $0.275 cached per Mtok (config) [catalog, read 2026-12-05]\n",
		"execution, review  gpt-4.1 (deployment gpt-4.1): context 128000 (config), output cap 16000 of 32768",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
}

func TestConfigValidateReportsEveryErrorAndExitsOne(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "agentsmith.yml")
	data, err := os.ReadFile(todoList)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "    agent: azure-openai-default\n", "    agent: azure-openai\n", 1)
	broken = strings.Replace(broken, "cpu_limit: \"1\"", "cpu_limit: one", 1)
	if err := os.WriteFile(bad, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AZURE_OPENAI_API_KEY": "x-123456", "AZURE_DEVOPS_TOKEN": "y-123456"}

	stdout, stderr, err := runCLI(t, env, "config", "validate", "-f", bad)
	if exitCode(err) != 1 {
		t.Fatalf("exit = %v, want status 1", err)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	at := func(text string) string { return bad + ":" + strconv.Itoa(lineWith(t, broken, text)) }
	want := []string{
		at("cpu_limit: one") + `: sandbox.resources.cpu_limit: "one" is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 1Gi)`,
		at("webhook_secret:") + ": trackers.acme-platform.webhook_secret: AZURE_DEVOPS_WEBHOOK_SECRET is not set",
		at("agent: azure-openai") + `: projects.azuredevops-todolist.agent: agent "azure-openai" is not defined (defined: azure-openai-default)`,
		"3 errors in " + bad,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, strings.Join(want, "\n"))
	}
}

// config validate warns about a model it knows no limits or price of and
// goes on; a model the api_version cannot serve is an error.
func TestConfigValidateWarnsAboutUnknownModelsAndRefusesWhatCannotServe(t *testing.T) {
	data, err := os.ReadFile(todoList)
	if err != nil {
		t.Fatal(err)
	}
	write := func(doc string) string {
		path := filepath.Join(t.TempDir(), "agentsmith.yml")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	unknown := strings.Replace(string(data), "        model: o4-mini\n", "        model: o5-turbo\n", 1)
	path := write(unknown)
	stdout, stderr, err := runCLI(t, todoListEnv, "config", "validate", "-f", path)
	if err != nil {
		t.Fatalf("err = %v, stderr = %q", err, stderr)
	}
	want := "warning: " + path + ":" + strconv.Itoa(lineWith(t, unknown, "model: o5-turbo")) +
		`: agents.azure-openai-default.models.planning.model: model "o5-turbo" is not in the catalog: its context window, output cap and price are unknown; set them in the agent's catalog.o5-turbo entry` + "\n"
	if stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	if !strings.Contains(stdout, "o5-turbo (deployment o4-mini): context 128000 (config), output cap 32000, no price known") {
		t.Errorf("summary lacks the unknown model's line:\n%s", stdout)
	}

	dated := strings.Replace(string(data), "api_version: v1", "api_version: 2024-10-21", 1)
	path = write(dated)
	_, stderr, err = runCLI(t, todoListEnv, "config", "validate", "-f", path)
	if exitCode(err) != 1 {
		t.Fatalf("exit = %v, want status 1", err)
	}
	if want := path + ":" + strconv.Itoa(lineWith(t, dated, "api_version:")) +
		": agents.azure-openai-default.api_version: o4-mini needs api_version 2025-04-01-preview or later (or v1); 2024-10-21 cannot serve it"; !strings.HasPrefix(stderr, want) {
		t.Errorf("stderr = %q, want it to start with %q", stderr, want)
	}
}

func TestConfigFileComesFromFlagOrEnvironment(t *testing.T) {
	env := map[string]string{"AGENTSMITH_CONFIG": todoList}
	for k, v := range todoListEnv {
		env[k] = v
	}
	if _, stderr, err := runCLI(t, env, "config", "validate"); err != nil {
		t.Errorf("with AGENTSMITH_CONFIG: %v %s", err, stderr)
	}
	// One flag style everywhere: -c, --config, and -f as before.
	for _, flag := range []string{"-c", "--config", "-f", "-config"} {
		if _, stderr, err := runCLI(t, todoListEnv, "config", "validate", flag, todoList); err != nil {
			t.Errorf("with %s: %v %s", flag, err, stderr)
		}
	}
	_, stderr, err := runCLI(t, todoListEnv, "config", "validate")
	if exitCode(err) != 2 || !strings.Contains(stderr, "pass -c FILE or set AGENTSMITH_CONFIG") {
		t.Errorf("without a file: exit %v, stderr %q", err, stderr)
	}
	_, stderr, err = runCLI(t, todoListEnv, "config", "frobnicate")
	if exitCode(err) != 2 || !strings.Contains(stderr, `unknown config command "frobnicate"`) {
		t.Errorf("unknown subcommand: exit %v, stderr %q", err, stderr)
	}
}

func TestConfigPrintShowsTheResolvedConfigRedacted(t *testing.T) {
	stdout, stderr, err := runCLI(t, todoListEnv, "config", "print", "-f", todoList)
	if err != nil {
		t.Fatalf("err = %v, stderr = %q", err, stderr)
	}
	for name, secret := range todoListEnv {
		if strings.Contains(stdout, secret) {
			t.Errorf("print shows the value of %s", name)
		}
	}
	var doc struct {
		Secrets  map[string]string `json:"secrets"`
		Trackers map[string]struct {
			WebhookSecret string `json:"webhook_secret"`
			Polling       struct {
				TimeoutSeconds int `json:"timeout_seconds"`
			} `json:"polling"`
		} `json:"trackers"`
		Queue struct {
			MaxParallelJobs int `json:"max_parallel_jobs"`
		} `json:"queue"`
	}
	if err := yaml.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("print output is not YAML: %v", err)
	}
	tr := doc.Trackers["acme-platform"]
	if doc.Secrets["azure_devops_token"] != "<redacted>" || tr.WebhookSecret != "<redacted>" {
		t.Errorf("secrets not redacted: %+v %+v", doc.Secrets, tr)
	}
	if tr.Polling.TimeoutSeconds != 20 || doc.Queue.MaxParallelJobs != 4 {
		t.Errorf("defaults missing from the resolved config: %+v, %+v", tr, doc.Queue)
	}
}
