// Package helm holds the tests of the Helm chart in tessera/: helm lint
// --strict, and helm template with the values an operator would give,
// its manifests parsed and checked for what the chart promises (README,
// Kubernetes (Helm)).
package helm

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// helmModule is the helm the tests build from the Go module proxy: no
// helm on the machine, nothing in go.mod (go install pkg@version leaves
// the module alone), and the same helm everywhere.
const helmModule = "helm.sh/helm/v3/cmd/helm@v3.21.4" // and in .ci/run, which builds it first

const chart = "tessera"

// kubeVersion is the cluster the chart is rendered for: a helm built with
// go install has no version of its own baked in and assumes 1.20, older
// than the chart's kubeVersion allows.
const kubeVersion = "1.31.0"

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
	helmDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if helmDir != "" {
		os.RemoveAll(helmDir)
	}
	os.Exit(code)
}

// helm returns the path of a helm binary built once per test binary run
// (the Go build cache makes every build after the first a link).
func helm(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		helmDir, helmErr = os.MkdirTemp("", "tessera-helm-")
		if helmErr != nil {
			return
		}
		cmd := exec.Command("go", "install", helmModule)
		cmd.Env = append(os.Environ(), "GOBIN="+helmDir, "GOFLAGS=", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			helmErr = fmt.Errorf("go install %s: %v\n%s", helmModule, err, out)
			return
		}
		helmPath = filepath.Join(helmDir, "helm")
	})
	if helmErr != nil {
		// Offline, away from CI, is a reason to skip; anything else,
		// or any failure in CI, is a failure.
		if os.Getenv("CI") != "true" && offline(helmErr.Error()) {
			t.Skipf("cannot build helm from the Go module proxy (offline?); CI runs this test:\n%v", helmErr)
		}
		t.Fatal(helmErr)
	}
	return helmPath
}

func offline(msg string) bool {
	for _, s := range []string{"dial tcp", "no such host", "i/o timeout", "connection refused",
		"network is unreachable", "GOPROXY=off", "TLS handshake timeout", "proxyconnect"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// run runs helm in this folder with a private HOME, so that no user's
// repositories or plugins take part.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helm(t), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "HELM_CACHE_HOME="+home+"/cache",
		"HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// render runs helm template with --set values and returns its manifests
// by kind and name.
func render(t *testing.T, sets ...string) manifests {
	t.Helper()
	out, err := run(t, template(sets)...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", sets, err, out)
	}
	return parse(t, out)
}

// renderFails runs helm template and returns its error output, failing
// the test if it renders.
func renderFails(t *testing.T, sets ...string) string {
	t.Helper()
	out, err := run(t, template(sets)...)
	if err == nil {
		t.Fatalf("helm template %v rendered; want a refusal:\n%s", sets, out)
	}
	return out
}

func template(sets []string) []string {
	args := []string{"template", "tessera", chart, "--namespace", "idp", "--kube-version", kubeVersion}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return args
}

type obj = map[string]any

// manifests are the rendered objects, by "Kind/name".
type manifests map[string]obj

func parse(t *testing.T, out string) manifests {
	t.Helper()
	m := manifests{}
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var o obj
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, out)
		}
		if o == nil {
			continue
		}
		key := fmt.Sprintf("%v/%v", o["kind"], get(o, "metadata", "name"))
		if _, dup := m[key]; dup {
			t.Fatalf("%s rendered twice", key)
		}
		m[key] = o
	}
	return m
}

func (m manifests) must(t *testing.T, key string) obj {
	t.Helper()
	o, ok := m[key]
	if !ok {
		t.Fatalf("no %s rendered; have %v", key, m.keys())
	}
	return o
}

func (m manifests) keys() []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// get walks maps by key and lists by index (an int); nil if absent.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, ok := v.(obj)
			if !ok {
				return nil
			}
			v = mm[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func container(t *testing.T, m manifests) obj {
	t.Helper()
	c, ok := get(m.must(t, "Deployment/tessera"), "spec", "template", "spec", "containers", 0).(obj)
	if !ok {
		t.Fatal("the Deployment has no container")
	}
	return c
}

// env returns the container's variable name, either as its value or as
// "secret:{name}/{key}" when it comes from a Secret.
func env(c obj, name string) (string, bool) {
	l, _ := c["env"].([]any)
	for _, e := range l {
		if get(e, "name") != name {
			continue
		}
		if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil {
			return fmt.Sprintf("secret:%v/%v", get(ref, "name"), get(ref, "key")), true
		}
		return fmt.Sprint(get(e, "value")), true
	}
	return "", false
}

func want(t *testing.T, what string, got, want any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

var sqliteValues = []string{"publicURL=https://id.example.com", "masterKey.existingSecret=tessera-master-key"}

const key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// TestHelmLintStrict: helm lint --strict accepts the chart with the
// values CI keeps in tessera/ci (one replica on SQLite; three on
// PostgreSQL behind an ingress, with metrics). (lint reports the chart's
// refusals as mere information, so they are tested with helm template.)
func TestHelmLintStrict(t *testing.T) {
	for _, v := range []string{"ci/sqlite-values.yaml", "ci/postgres-values.yaml"} {
		if out, err := run(t, "lint", "--strict", "--kube-version", kubeVersion, chart, "-f", filepath.Join(chart, v)); err != nil {
			t.Errorf("helm lint --strict -f %s: %v\n%s", v, err, out)
		}
	}
}

// TestHelmDefaultIsOneSQLiteReplica: with the defaults, one replica on a
// PersistentVolumeClaim the release keeps, replaced by Recreate, probed at
// /healthz and /readyz over plain HTTP (TLS terminated in front), locked
// down, its master key from the Secret given.
func TestHelmDefaultIsOneSQLiteReplica(t *testing.T) {
	m := render(t, sqliteValues...)
	d := m.must(t, "Deployment/tessera")
	want(t, "replicas", get(d, "spec", "replicas"), 1)
	want(t, "strategy", get(d, "spec", "strategy", "type"), "Recreate")
	if get(d, "spec", "strategy", "rollingUpdate") != nil {
		t.Error("Recreate with rollingUpdate settings")
	}
	pvc := m.must(t, "PersistentVolumeClaim/tessera-data")
	want(t, "PVC keep policy", get(pvc, "metadata", "annotations", "helm.sh/resource-policy"), "keep")
	want(t, "data volume", get(d, "spec", "template", "spec", "volumes", 0, "persistentVolumeClaim", "claimName"), "tessera-data")

	c := container(t, m)
	want(t, "args", c["args"], []any{"serve"})
	want(t, "image", c["image"], "ghcr.io/tessera-id/tessera:0.1.0")
	digest := "sha256:" + strings.Repeat("ab", 32)
	pinned := container(t, render(t, append(sqliteValues, "image.tag=1.2", "image.digest="+digest)...))
	want(t, "image by digest", pinned["image"], "ghcr.io/tessera-id/tessera:1.2@"+digest)
	for probe, path := range map[string]string{"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		want(t, probe+" path", get(c, probe, "httpGet", "path"), path)
		want(t, probe+" scheme", get(c, probe, "httpGet", "scheme"), "HTTP")
		want(t, probe+" port", get(c, probe, "httpGet", "port"), "http")
	}
	want(t, "container port", get(c, "ports", 0, "containerPort"), 8443)
	sc := c["securityContext"]
	want(t, "runAsNonRoot", get(sc, "runAsNonRoot"), true)
	want(t, "runAsUser", get(sc, "runAsUser"), 65532)
	want(t, "readOnlyRootFilesystem", get(sc, "readOnlyRootFilesystem"), true)
	want(t, "allowPrivilegeEscalation", get(sc, "allowPrivilegeEscalation"), false)
	want(t, "capabilities.drop", get(sc, "capabilities", "drop"), []any{"ALL"})
	want(t, "seccompProfile", get(sc, "seccompProfile", "type"), "RuntimeDefault")
	want(t, "pod fsGroup", get(d, "spec", "template", "spec", "securityContext", "fsGroup"), 65532)
	want(t, "pod automount", get(d, "spec", "template", "spec", "automountServiceAccountToken"), false)
	want(t, "ServiceAccount automount", get(m.must(t, "ServiceAccount/tessera"), "automountServiceAccountToken"), false)

	if v, _ := env(c, "TESSERA_MASTER_KEY"); v != "secret:tessera-master-key/master-key" {
		t.Errorf("TESSERA_MASTER_KEY from %q, want the existing Secret tessera-master-key", v)
	}
	if v, ok := env(c, "TESSERA_DB"); ok {
		t.Errorf("TESSERA_DB = %q on SQLite", v)
	}
	if _, ok := m["Secret/tessera"]; ok {
		t.Error("the chart made a Secret though the master key's is given")
	}
	cm := m.must(t, "ConfigMap/tessera")
	want(t, "TESSERA_HTTP", get(cm, "data", "TESSERA_HTTP"), "true")
	want(t, "TESSERA_PUBLIC_URL", get(cm, "data", "TESSERA_PUBLIC_URL"), "https://id.example.com")
	want(t, "TESSERA_ADDR", get(cm, "data", "TESSERA_ADDR"), ":8443")
	want(t, "TESSERA_MIGRATE", get(cm, "data", "TESSERA_MIGRATE"), "true")
	want(t, "envFrom", get(c, "envFrom", 0, "configMapRef", "name"), "tessera")
	if get(d, "spec", "template", "metadata", "annotations", "checksum/config") == nil {
		t.Error("no checksum/config annotation on the pods")
	}
	for _, k := range []string{"PodDisruptionBudget/tessera", "Ingress/tessera", "ServiceMonitor/tessera", "Job/tessera-migrate"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s rendered by default", k)
		}
	}

	np := m.must(t, "NetworkPolicy/tessera")
	want(t, "NetworkPolicy ingress port", get(np, "spec", "ingress", 0, "ports", 0, "port"), 8443)
	want(t, "NetworkPolicy DNS egress", get(np, "spec", "egress", 0, "ports", 0, "port"), 53)
	if get(np, "spec", "egress", 1) != nil {
		t.Errorf("SQLite pods may reach more than DNS: %v", get(np, "spec", "egress"))
	}
	want(t, "NetworkPolicy selects the pods", get(np, "spec", "podSelector", "matchLabels"), get(d, "spec", "selector", "matchLabels"))
}

// TestHelmReplicasNeedPostgres: more than one replica on SQLite is
// refused, saying why and what to set.
func TestHelmReplicasNeedPostgres(t *testing.T) {
	out := renderFails(t, append(sqliteValues, "replicaCount=3")...)
	for _, s := range []string{"replicaCount is 3", "needs PostgreSQL", "database.url", "database.existingSecret"} {
		if !strings.Contains(out, s) {
			t.Errorf("the refusal does not say %q:\n%s", s, out)
		}
	}
}

// TestHelmPostgresReplicas: three replicas on PostgreSQL roll, keep no
// volume, get a PodDisruptionBudget, read TESSERA_DB from the chart's
// Secret and may reach the database's port.
func TestHelmPostgresReplicas(t *testing.T) {
	url := "postgres://tessera@db.internal:5432/tessera?sslmode=verify-full"
	m := render(t, "replicaCount=3", "publicURL=https://id.example.com", "masterKey.value="+key, "database.url="+url)
	d := m.must(t, "Deployment/tessera")
	want(t, "replicas", get(d, "spec", "replicas"), 3)
	want(t, "strategy", get(d, "spec", "strategy", "type"), "RollingUpdate")
	want(t, "maxUnavailable", get(d, "spec", "strategy", "rollingUpdate", "maxUnavailable"), 0)
	for k := range m {
		if strings.HasPrefix(k, "PersistentVolumeClaim/") {
			t.Errorf("%s rendered on PostgreSQL", k)
		}
	}
	if get(d, "spec", "template", "spec", "volumes", 0, "emptyDir") == nil {
		t.Errorf("the data volume is not an emptyDir: %v", get(d, "spec", "template", "spec", "volumes", 0))
	}
	pdb := m.must(t, "PodDisruptionBudget/tessera")
	want(t, "PDB minAvailable", get(pdb, "spec", "minAvailable"), 1)
	want(t, "PDB selector", get(pdb, "spec", "selector", "matchLabels"), get(d, "spec", "selector", "matchLabels"))

	c := container(t, m)
	if v, _ := env(c, "TESSERA_DB"); v != "secret:tessera/database-url" {
		t.Errorf("TESSERA_DB from %q, want the chart's Secret", v)
	}
	if v, _ := env(c, "TESSERA_MASTER_KEY"); v != "secret:tessera/master-key" {
		t.Errorf("TESSERA_MASTER_KEY from %q, want the chart's Secret", v)
	}
	s := m.must(t, "Secret/tessera")
	for k, v := range map[string]string{"database-url": url, "master-key": key} {
		got, _ := base64.StdEncoding.DecodeString(fmt.Sprint(get(s, "data", k)))
		want(t, "Secret "+k, string(got), v)
	}
	if strings.Contains(fmt.Sprint(m.must(t, "ConfigMap/tessera")), "db.internal") {
		t.Error("the database URL is in the ConfigMap")
	}
	np := m.must(t, "NetworkPolicy/tessera")
	want(t, "NetworkPolicy database egress", get(np, "spec", "egress", 1, "ports", 0, "port"), 5432)

	// One replica on PostgreSQL: no PDB, which would only block drains.
	one := render(t, "publicURL=https://id.example.com", "masterKey.value="+key, "database.url="+url)
	if _, ok := one["PodDisruptionBudget/tessera"]; ok {
		t.Error("a PodDisruptionBudget for one replica")
	}
}

// TestHelmMasterKeyRequired: no master key, or one that is not 32 bytes,
// is refused, saying how to make one.
func TestHelmMasterKeyRequired(t *testing.T) {
	out := renderFails(t, "publicURL=https://id.example.com")
	if !strings.Contains(out, "head -c 32 /dev/urandom | base64") {
		t.Errorf("the refusal does not say how to make a key:\n%s", out)
	}
	for _, bad := range []string{"changeme", base64.StdEncoding.EncodeToString(make([]byte, 16)), strings.Repeat("g", 64)} {
		out := renderFails(t, "publicURL=https://id.example.com", "masterKey.value="+bad)
		if !strings.Contains(out, "is not a master key") {
			t.Errorf("masterKey.value=%s: refused for another reason:\n%s", bad, out)
		}
	}
	// 64 hex digits are a key too, as the server reads them.
	render(t, "publicURL=https://id.example.com", "masterKey.value="+strings.Repeat("0f", 32))
}

// TestHelmExistingSecretsUsedAsGiven: Secrets the operator made are
// referenced by the names and keys given, and the chart makes none.
func TestHelmExistingSecretsUsedAsGiven(t *testing.T) {
	m := render(t, "replicaCount=2", "publicURL=https://id.example.com",
		"masterKey.existingSecret=vault-mk", "masterKey.existingSecretKey=key",
		"database.existingSecret=pg-app", "database.existingSecretKey=uri")
	c := container(t, m)
	if v, _ := env(c, "TESSERA_MASTER_KEY"); v != "secret:vault-mk/key" {
		t.Errorf("TESSERA_MASTER_KEY from %q", v)
	}
	if v, _ := env(c, "TESSERA_DB"); v != "secret:pg-app/uri" {
		t.Errorf("TESSERA_DB from %q", v)
	}
	for k := range m {
		if strings.HasPrefix(k, "Secret/") {
			t.Errorf("%s rendered though every secret is given", k)
		}
	}
}

// TestHelmTLSInPod: with tls.enabled the pods serve the mounted
// certificate, not --http, and the probes speak HTTPS.
func TestHelmTLSInPod(t *testing.T) {
	m := render(t, append(sqliteValues, "tls.enabled=true", "tls.secretName=id-tls")...)
	c := container(t, m)
	for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
		want(t, probe+" scheme", get(c, probe, "httpGet", "scheme"), "HTTPS")
	}
	cm := m.must(t, "ConfigMap/tessera")
	want(t, "TESSERA_HTTP", get(cm, "data", "TESSERA_HTTP"), "false")
	want(t, "TESSERA_TLS_CERT", get(cm, "data", "TESSERA_TLS_CERT"), "/etc/tessera/tls/tls.crt")
	want(t, "TESSERA_TLS_KEY", get(cm, "data", "TESSERA_TLS_KEY"), "/etc/tessera/tls/tls.key")
	vols := fmt.Sprint(get(m.must(t, "Deployment/tessera"), "spec", "template", "spec", "volumes"))
	if !strings.Contains(vols, "secretName:id-tls") {
		t.Errorf("the TLS Secret is not mounted: %s", vols)
	}
}

// TestHelmConfigRollsPods: a setting changed in values changes the pods'
// checksum (so they restart with it) and becomes its TESSERA_ variable;
// settings the chart owns are refused.
func TestHelmConfigRollsPods(t *testing.T) {
	sum := func(m manifests) any {
		return get(m.must(t, "Deployment/tessera"), "spec", "template", "metadata", "annotations", "checksum/config")
	}
	a := render(t, sqliteValues...)
	b := render(t, append(sqliteValues, "config.trusted-proxies=10.0.0.0/8")...)
	want(t, "TESSERA_TRUSTED_PROXIES", get(b.must(t, "ConfigMap/tessera"), "data", "TESSERA_TRUSTED_PROXIES"), "10.0.0.0/8")
	if sum(a) == sum(b) {
		t.Error("checksum/config did not change with the config")
	}
	if out := renderFails(t, append(sqliteValues, "config.db=postgres://x")...); !strings.Contains(out, "config.db is set by the chart") {
		t.Errorf("config.db refused for another reason:\n%s", out)
	}
}

// TestHelmPublicURL: required, or taken from the first ingress host.
func TestHelmPublicURL(t *testing.T) {
	if out := renderFails(t, "masterKey.existingSecret=mk"); !strings.Contains(out, "set publicURL") {
		t.Errorf("no public URL refused for another reason:\n%s", out)
	}
	m := render(t, "masterKey.existingSecret=mk", "ingress.enabled=true", "ingress.hosts[0].host=login.example.org",
		"ingress.hosts[0].paths[0].path=/", "ingress.hosts[0].paths[0].pathType=Prefix")
	want(t, "TESSERA_PUBLIC_URL", get(m.must(t, "ConfigMap/tessera"), "data", "TESSERA_PUBLIC_URL"), "https://login.example.org")
	ing := m.must(t, "Ingress/tessera")
	want(t, "Ingress backend", get(ing, "spec", "rules", 0, "http", "paths", 0, "backend", "service", "name"), "tessera")
}

// TestHelmMigrationsJob: with migrations.job the servers never migrate
// and a pre-install/pre-upgrade Job runs tessera migrate up; it needs the
// database in an existing Secret.
func TestHelmMigrationsJob(t *testing.T) {
	if out := renderFails(t, append(sqliteValues, "migrations.job.enabled=true")...); !strings.Contains(out, "migrations.job needs PostgreSQL") {
		t.Errorf("a migration Job on SQLite refused for another reason:\n%s", out)
	}
	m := render(t, append(sqliteValues, "migrations.job.enabled=true", "database.existingSecret=pg")...)
	want(t, "TESSERA_MIGRATE", get(m.must(t, "ConfigMap/tessera"), "data", "TESSERA_MIGRATE"), "false")
	j := m.must(t, "Job/tessera-migrate")
	want(t, "hook", get(j, "metadata", "annotations", "helm.sh/hook"), "pre-install,pre-upgrade")
	jc := get(j, "spec", "template", "spec", "containers", 0).(obj)
	want(t, "Job args", jc["args"], []any{"migrate", "up"})
	if v, _ := env(jc, "TESSERA_DB"); v != "secret:pg/url" {
		t.Errorf("the Job's TESSERA_DB from %q", v)
	}
	// The Service must not select the Job's pod.
	svc := get(m.must(t, "Service/tessera"), "spec", "selector").(obj)
	labels := get(j, "spec", "template", "metadata", "labels").(obj)
	if fmt.Sprint(labels["app.kubernetes.io/name"]) == fmt.Sprint(svc["app.kubernetes.io/name"]) {
		t.Error("the Service selects the migration Job's pod")
	}
}

// TestHelmSchemaRefusesBadValues: values.schema.json catches mistyped
// values before any template runs.
func TestHelmSchemaRefusesBadValues(t *testing.T) {
	for _, bad := range []string{"replicaCount=-1", "image.pullPolicy=Sometimes", "databse.url=postgres://x", "database.url=mysql://x"} {
		out := renderFails(t, append(sqliteValues, bad)...)
		if !strings.Contains(out, "schema") {
			t.Errorf("%s refused for another reason:\n%s", bad, out)
		}
	}
}

// TestHelmMetrics: the admin listener, its port, and an optional
// ServiceMonitor on it.
func TestHelmMetrics(t *testing.T) {
	m := render(t, append(sqliteValues, "metrics.enabled=true", "metrics.serviceMonitor.enabled=true")...)
	want(t, "TESSERA_ADMIN_ADDR", get(m.must(t, "ConfigMap/tessera"), "data", "TESSERA_ADMIN_ADDR"), ":9090")
	want(t, "Service metrics port", get(m.must(t, "Service/tessera"), "spec", "ports", 1, "name"), "metrics")
	want(t, "ServiceMonitor port", get(m.must(t, "ServiceMonitor/tessera"), "spec", "endpoints", 0, "port"), "metrics")
}
