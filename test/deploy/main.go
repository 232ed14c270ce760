// validate-deploy reads deploy/ the way the Kubernetes API server and the Prometheus operator
// would, since neither can run here: every document decodes strictly into its real API type
// (k8s.io/api, the operator's monitoring/v1; an unknown or misspelt field is an error), and the
// references between documents hold (Service -> pods and named ports, ServiceMonitor -> Services,
// volumes -> ConfigMaps and their keys, probes -> ports, $(VAR) -> env). Then each
// kafka-hub-exporter container's arguments are run through the real exporter's --check-config
// with the ConfigMap files laid out where the pod would mount them.
//
//	validate-deploy -deploy DIR -exporter PATH
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's schema deploy/kustomization.yaml uses; anything else
// in the file is an error, so a new key gets a check here before it is relied on.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Patches    []struct {
		Path   string `json:"path"`
		Target struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"target"`
	} `json:"patches"`
}

type document struct {
	file string
	kind string
	name string
	obj  any
}

type workload struct {
	doc      document
	template *corev1.PodTemplateSpec
}

type checker struct {
	problems []string
	docs     []document
}

func (c *checker) fail(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func main() {
	deployDir := flag.String("deploy", "deploy", "the deploy/ directory")
	exporter := flag.String("exporter", "", "kafka-hub-exporter binary, for --check-config of container args")
	flag.Parse()
	c := &checker{}
	k := c.loadKustomization(*deployDir)
	if k != nil {
		c.crossCheck(k)
		if *exporter != "" {
			c.checkExporterArgs(*exporter)
		}
	}
	if len(c.problems) > 0 {
		for _, p := range c.problems {
			fmt.Fprintln(os.Stderr, "deploy: "+p)
		}
		os.Exit(1)
	}
	kinds := map[string]int{}
	for _, d := range c.docs {
		kinds[d.kind]++
	}
	var summary []string
	for kind, n := range kinds {
		summary = append(summary, fmt.Sprintf("%d %s", n, kind))
	}
	sort.Strings(summary)
	fmt.Printf("deploy: %d documents valid (%s)\n", len(c.docs), strings.Join(summary, ", "))
}

func (c *checker) loadKustomization(dir string) *kustomization {
	path := filepath.Join(dir, "kustomization.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		c.fail("%v", err)
		return nil
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		c.fail("%s: %v", path, err)
		return nil
	}
	if k.Kind != "Kustomization" || k.Namespace == "" {
		c.fail("%s: want kind Kustomization with a namespace", path)
	}
	for _, r := range k.Resources {
		c.loadFile(filepath.Join(dir, r), "")
	}
	for _, p := range k.Patches {
		c.loadFile(filepath.Join(dir, p.Path), p.Target.Kind)
	}
	return &k
}

func (c *checker) loadFile(path, patchKind string) {
	f, err := os.Open(path)
	if err != nil {
		c.fail("%v", err)
		return
	}
	defer f.Close()
	reader := k8syaml.NewYAMLReader(bufio.NewReader(f))
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			c.fail("%s: %v", path, err)
			return
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		c.decode(path, raw, patchKind)
	}
}

func stripComments(raw []byte) []byte {
	var out bytes.Buffer
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			out.WriteString(line + "\n")
		}
	}
	return out.Bytes()
}

func (c *checker) decode(file string, raw []byte, patchKind string) {
	var meta metav1.TypeMeta
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		c.fail("%s: %v", file, err)
		return
	}
	if patchKind != "" && meta.Kind != patchKind {
		c.fail("%s: a patch of %s, but the document is a %s", file, patchKind, meta.Kind)
	}
	var obj any
	switch meta.APIVersion + "/" + meta.Kind {
	case "v1/ConfigMap":
		obj = &corev1.ConfigMap{}
	case "v1/Service":
		obj = &corev1.Service{}
	case "v1/ServiceAccount":
		obj = &corev1.ServiceAccount{}
	case "apps/v1/Deployment":
		obj = &appsv1.Deployment{}
	case "apps/v1/StatefulSet":
		obj = &appsv1.StatefulSet{}
	case "networking.k8s.io/v1/NetworkPolicy":
		obj = &networkingv1.NetworkPolicy{}
	case "monitoring.coreos.com/v1/ServiceMonitor":
		obj = &monitoringv1.ServiceMonitor{}
	case "monitoring.coreos.com/v1/PrometheusRule":
		obj = &monitoringv1.PrometheusRule{}
	default:
		c.fail("%s: no check for %s %s", file, meta.APIVersion, meta.Kind)
		return
	}
	if err := yaml.UnmarshalStrict(raw, obj); err != nil {
		c.fail("%s: %s: %v", file, meta.Kind, err)
		return
	}
	name := obj.(metav1.Object).GetName()
	if name == "" {
		c.fail("%s: a %s without metadata.name", file, meta.Kind)
	}
	c.docs = append(c.docs, document{file: file, kind: meta.Kind, name: name, obj: obj})
}

func (c *checker) workloads() []workload {
	var out []workload
	for _, d := range c.docs {
		switch o := d.obj.(type) {
		case *appsv1.Deployment:
			out = append(out, workload{d, &o.Spec.Template})
			sel, err := metav1.LabelSelectorAsSelector(o.Spec.Selector)
			if err != nil || !sel.Matches(labels.Set(o.Spec.Template.Labels)) {
				c.fail("%s: Deployment %s: its selector does not match its pod template", d.file, d.name)
			}
		case *appsv1.StatefulSet:
			out = append(out, workload{d, &o.Spec.Template})
		}
	}
	return out
}

func (c *checker) crossCheck(k *kustomization) {
	configMaps := map[string]*corev1.ConfigMap{}
	services := map[string]*corev1.Service{}
	for _, d := range c.docs {
		switch o := d.obj.(type) {
		case *corev1.ConfigMap:
			configMaps[o.Name] = o
		case *corev1.Service:
			services[o.Name] = o
		}
	}
	workloads := c.workloads()
	for _, w := range workloads {
		c.checkPod(w, configMaps)
	}
	for _, svc := range services {
		c.checkService(svc, workloads)
	}
	monitored := 0
	for _, d := range c.docs {
		switch o := d.obj.(type) {
		case *monitoringv1.ServiceMonitor:
			monitored += c.checkServiceMonitor(o, services, k.Namespace)
		case *monitoringv1.PrometheusRule:
			c.checkRules(o)
		}
	}
	if monitored == 0 {
		c.fail("no ServiceMonitor selects an exporter Service")
	}
}

func (c *checker) checkPod(w workload, configMaps map[string]*corev1.ConfigMap) {
	where := w.doc.kind + " " + w.doc.name
	spec := &w.template.Spec
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
		if cm := v.ConfigMap; cm != nil {
			data, ok := configMaps[cm.Name]
			if !ok {
				c.fail("%s: volume %s: no ConfigMap %s in deploy/", where, v.Name, cm.Name)
				continue
			}
			for _, item := range cm.Items {
				if _, ok := data.Data[item.Key]; !ok {
					c.fail("%s: volume %s: ConfigMap %s has no key %s", where, v.Name, cm.Name, item.Key)
				}
			}
		}
	}
	containers := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, ctr := range containers {
		for _, m := range ctr.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				c.fail("%s: container %s mounts unknown volume %s", where, ctr.Name, m.Name)
			}
		}
		if !strings.HasPrefix(ctr.Image, "kafka-hub-exporter:") {
			continue // the seed's own containers: only what the patch adds is ours to check
		}
		ports := map[string]bool{}
		for _, p := range ctr.Ports {
			ports[p.Name] = true
			if p.Name == "metrics" && p.ContainerPort != 7071 {
				c.fail("%s: container %s serves metrics on %d, not 7071", where, ctr.Name, p.ContainerPort)
			}
		}
		for _, probe := range []*corev1.Probe{ctr.LivenessProbe, ctr.ReadinessProbe} {
			if probe != nil && probe.HTTPGet != nil && probe.HTTPGet.Port.StrVal != "" && !ports[probe.HTTPGet.Port.StrVal] {
				c.fail("%s: container %s: probe on unknown port %s", where, ctr.Name, probe.HTTPGet.Port.StrVal)
			}
		}
		if ctr.Resources.Limits.Memory().IsZero() && len(ctr.Command) == 0 {
			c.fail("%s: container %s has no memory limit", where, ctr.Name)
		}
		env := map[string]bool{}
		for _, e := range ctr.Env {
			env[e.Name] = true
		}
		for _, arg := range ctr.Args {
			for _, m := range varRef.FindAllStringSubmatch(arg, -1) {
				if !env[m[1]] {
					c.fail("%s: container %s: argument %q uses $(%s), which is not in its env", where, ctr.Name, arg, m[1])
				}
			}
		}
	}
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func (c *checker) checkService(svc *corev1.Service, workloads []workload) {
	selector := labels.SelectorFromSet(svc.Spec.Selector)
	matched := false
	for _, w := range workloads {
		if !selector.Matches(labels.Set(w.template.Labels)) {
			continue
		}
		matched = true
		for _, port := range svc.Spec.Ports {
			if port.TargetPort.StrVal == "" {
				continue
			}
			found := false
			for _, ctr := range w.template.Spec.Containers {
				for _, p := range ctr.Ports {
					found = found || p.Name == port.TargetPort.StrVal
				}
			}
			if !found {
				c.fail("Service %s: targetPort %s is not a named port of %s %s", svc.Name, port.TargetPort.StrVal, w.doc.kind, w.doc.name)
			}
		}
	}
	if !matched {
		c.fail("Service %s selects no pod template in deploy/", svc.Name)
	}
}

func (c *checker) checkServiceMonitor(sm *monitoringv1.ServiceMonitor, services map[string]*corev1.Service, namespace string) int {
	selector, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		c.fail("ServiceMonitor %s: %v", sm.Name, err)
		return 0
	}
	if !sm.Spec.NamespaceSelector.Any && !contains(sm.Spec.NamespaceSelector.MatchNames, namespace) {
		c.fail("ServiceMonitor %s: namespaceSelector leaves out %s", sm.Name, namespace)
	}
	selected := 0
	for _, svc := range services {
		if !selector.Matches(labels.Set(svc.Labels)) {
			continue
		}
		selected++
		for _, ep := range sm.Spec.Endpoints {
			found := false
			for _, p := range svc.Spec.Ports {
				found = found || p.Name == ep.Port
			}
			if !found {
				c.fail("ServiceMonitor %s: endpoint port %q is not a port of Service %s", sm.Name, ep.Port, svc.Name)
			}
		}
	}
	if selected < 2 {
		c.fail("ServiceMonitor %s selects %d Services; want the broker sidecars' and the cluster exporter's", sm.Name, selected)
	}
	return selected
}

func (c *checker) checkRules(pr *monitoringv1.PrometheusRule) {
	if len(pr.Spec.Groups) == 0 {
		c.fail("PrometheusRule %s has no groups", pr.Name)
	}
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			for _, key := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[key] == "" {
					c.fail("PrometheusRule %s: alert %s has no %s", pr.Name, r.Alert, key)
				}
			}
			if r.Labels["severity"] == "" {
				c.fail("PrometheusRule %s: alert %s has no severity", pr.Name, r.Alert)
			}
		}
	}
}

// checkExporterArgs runs every kafka-hub-exporter container's arguments through --check-config,
// with its ConfigMap volumes written out and /etc/kafka-hub-exporter rewritten to a temp dir.
func (c *checker) checkExporterArgs(exporter string) {
	configMaps := map[string]*corev1.ConfigMap{}
	for _, d := range c.docs {
		if cm, ok := d.obj.(*corev1.ConfigMap); ok {
			configMaps[cm.Name] = cm
		}
	}
	for _, w := range c.workloads() {
		for _, ctr := range w.template.Spec.Containers {
			if !strings.HasPrefix(ctr.Image, "kafka-hub-exporter:") {
				continue
			}
			root, err := os.MkdirTemp("", "khe-deploy-")
			if err != nil {
				c.fail("%v", err)
				return
			}
			defer os.RemoveAll(root)
			rewrite := func(s string) string { return strings.ReplaceAll(s, "/etc/kafka-hub-exporter", root) }
			volumes := map[string]corev1.Volume{}
			for _, v := range w.template.Spec.Volumes {
				volumes[v.Name] = v
			}
			for _, m := range ctr.VolumeMounts {
				v := volumes[m.Name]
				dir := rewrite(m.MountPath)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					c.fail("%v", err)
					continue
				}
				switch {
				case v.ConfigMap != nil:
					cm := configMaps[v.ConfigMap.Name]
					if cm == nil {
						continue
					}
					files := map[string]string{}
					for key := range cm.Data {
						files[key] = key
					}
					if len(v.ConfigMap.Items) > 0 {
						files = map[string]string{}
						for _, item := range v.ConfigMap.Items {
							files[item.Key] = item.Path
						}
					}
					for key, path := range files {
						target := filepath.Join(dir, path)
						_ = os.MkdirAll(filepath.Dir(target), 0o755)
						if err := os.WriteFile(target, []byte(rewrite(cm.Data[key])), 0o644); err != nil {
							c.fail("%v", err)
						}
					}
				case v.Secret != nil:
					// Secrets are the user's: stand-ins with the keys the pod mounts.
					for _, item := range v.Secret.Items {
						_ = os.WriteFile(filepath.Join(dir, item.Path), []byte("stand-in\n"), 0o600)
					}
				}
			}
			args := []string{}
			for _, a := range ctr.Args {
				args = append(args, rewrite(varRef.ReplaceAllString(a, "kafka-0")))
			}
			cmd := exec.Command(exporter, append(args, "--check-config")...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				c.fail("%s %s: container %s: kafka-hub-exporter %s --check-config: %v\n%s",
					w.doc.kind, w.doc.name, ctr.Name, strings.Join(args, " "), err, out)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
