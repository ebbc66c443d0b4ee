// Package chart tests the Helm chart with the real helm binary (`make test-tools`): it lints and
// renders, every component gets its own Deployment, scaling and disruption settings, and every
// setting the chart writes into a component's config file is a flag that binary really has.
package chart

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const chartDir = "../../charts/cloudevents-conductor"

var components = []string{"grpc-gateway", "work-service", "db-service", "consumer-controller"}

func helm(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := filepath.Abs("../../bin/helm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm not found at %s: run `make test-tools`", bin)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

func render(t *testing.T, sets ...string) []*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", "hub", chartDir, "--namespace", "ocm"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(helm(t, args...), "\n---") {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, doc)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
	return objs
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func TestChartLints(t *testing.T) {
	helm(t, "lint", chartDir, "--strict", "--set", "maestro.db.password=secret")
}

func TestEachComponentScalesOnItsOwn(t *testing.T) {
	objs := render(t, "maestro.db.password=secret", "grpcGateway.replicas=5", "workService.hpa.enabled=true", "dbService.replicas=3")
	for _, c := range components {
		if find(objs, "Deployment", "hub-cloudevents-conductor-"+c) == nil {
			t.Errorf("no Deployment for %s", c)
		}
		if find(objs, "PodDisruptionBudget", "hub-cloudevents-conductor-"+c) == nil {
			t.Errorf("no PodDisruptionBudget for %s", c)
		}
	}
	replicas := func(c string) any {
		d := find(objs, "Deployment", "hub-cloudevents-conductor-"+c)
		v, _, _ := unstructured.NestedFieldNoCopy(d.Object, "spec", "replicas")
		return v
	}
	if r := replicas("grpc-gateway"); fmt.Sprint(r) != "5" {
		t.Errorf("gateway replicas %v, want 5", r)
	}
	if r := replicas("db-service"); fmt.Sprint(r) != "3" {
		t.Errorf("db-service replicas %v, want 3", r)
	}
	if r := replicas("work-service"); r != nil {
		t.Errorf("work-service has an HPA, so the Deployment must not pin replicas (got %v)", r)
	}
	if find(objs, "HorizontalPodAutoscaler", "hub-cloudevents-conductor-work-service") == nil {
		t.Error("work-service HPA missing")
	}
	if find(objs, "StatefulSet", "hub-cloudevents-conductor-nats") == nil {
		t.Error("bundled NATS missing")
	}
}

func TestExternalNATSAndExistingSecret(t *testing.T) {
	objs := render(t, "nats.bundled=false", "nats.url=nats://nats.example:4222", "maestro.db.existingSecret=maestro-db")
	if find(objs, "StatefulSet", "hub-cloudevents-conductor-nats") != nil {
		t.Error("NATS rendered although nats.bundled=false")
	}
	if find(objs, "Secret", "hub-cloudevents-conductor-db") != nil {
		t.Error("a DB Secret was rendered although an existing one is named")
	}
	cm := find(objs, "ConfigMap", "hub-cloudevents-conductor-db-service")
	cfg := configOf(t, cm)
	if cfg["nats-url"] != "nats://nats.example:4222" {
		t.Errorf("db-service nats-url %v", cfg["nats-url"])
	}
	d := &appsv1.Deployment{}
	toTyped(t, find(objs, "Deployment", "hub-cloudevents-conductor-db-service"), d)
	var secretName string
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			secretName = v.Secret.SecretName
		}
	}
	if secretName != "maestro-db" {
		t.Errorf("db-service mounts secret %q, want maestro-db", secretName)
	}
}

// TestConfigKeysAreRealFlags keeps the chart and the binaries in step: a renamed flag fails here,
// not in a user's crash-looping pod.
func TestConfigKeysAreRealFlags(t *testing.T) {
	binDir := t.TempDir()
	args := []string{"build", "-o", binDir + "/"}
	for _, c := range components {
		args = append(args, "../../cmd/"+c)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("building the binaries: %v\n%s", err, out)
	}
	objs := render(t, "maestro.db.password=secret", "grpcGateway.tlsSecret=gw-tls")
	for _, c := range components {
		help, _ := exec.Command(filepath.Join(binDir, c), "--help").CombinedOutput()
		cfg := configOf(t, find(objs, "ConfigMap", "hub-cloudevents-conductor-"+c))
		for key := range cfg {
			if !strings.Contains(string(help), "-"+key+" ") && !strings.Contains(string(help), "-"+key+"\n") {
				t.Errorf("%s: the chart sets %q, which is not a flag of the binary", c, key)
			}
		}
	}
}

func configOf(t *testing.T, cm *unstructured.Unstructured) map[string]any {
	t.Helper()
	if cm == nil {
		t.Fatal("ConfigMap missing")
	}
	c := &corev1.ConfigMap{}
	toTyped(t, cm, c)
	cfg := map[string]any{}
	if err := yaml.Unmarshal([]byte(c.Data["config.yaml"]), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func toTyped(t *testing.T, u *unstructured.Unstructured, out any) {
	t.Helper()
	raw, err := u.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
}
