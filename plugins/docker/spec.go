package docker

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/docker/go-units"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// The labels zrun puts on what it creates (docs/docker-plugin.md, "What
// zrun labels").
const (
	labelManaged  = "zrun.managed"
	labelSpec     = "zrun.spec"
	labelSpecJSON = "zrun.spec.json"
	labelStep     = "zrun.step"
	labelRole     = "zrun.role"
)

// The names a replacement gives the containers it is between: the new one
// while it is checked, and the old one while it is swapped out. A kept
// container (a replaced one, stopped, that docker.rollback can start
// again) is NAME--zrun-kept- and the first 12 hex digits of its ID.
const (
	candidateSuffix = "--zrun-next"
	oldSuffix       = "--zrun-old"
	keptSuffix      = "--zrun-kept-"
)

// Defaults of docker.container's arguments.
const (
	defaultRestart      = "no"
	defaultStopTimeout  = 10 * time.Second
	defaultReadyTimeout = 60 * time.Second
	defaultKeepReleases = 3
)

// spec is a container's canonical spec: every argument of docker.container
// that reaches Docker, normalized (durations as Go prints them, sizes in
// bytes, the image as the engine's ID), so that two ways of writing the
// same container are the same spec. Its JSON (keys are the arguments'
// names; maps sorted by key, lists in their order) is what the zrun.spec
// and zrun.spec.json labels record.
type spec struct {
	Name              string              `json:"name"`
	Image             string              `json:"image"`
	Command           []string            `json:"command,omitempty"`
	Entrypoint        []string            `json:"entrypoint,omitempty"`
	Env               map[string]string   `json:"env,omitempty"`
	Ports             []string            `json:"ports,omitempty"`
	Volumes           []string            `json:"volumes,omitempty"`
	Networks          map[string][]string `json:"networks,omitempty"`
	Restart           string              `json:"restart"`
	Memory            int64               `json:"memory,omitempty"`
	MemoryReservation int64               `json:"memory_reservation,omitempty"`
	CPUs              float64             `json:"cpus,omitempty"`
	CPUShares         int64               `json:"cpu_shares,omitempty"`
	HealthCmd         []string            `json:"health_cmd,omitempty"`
	HealthInterval    string              `json:"health_interval,omitempty"`
	HealthTimeout     string              `json:"health_timeout,omitempty"`
	HealthStartPeriod string              `json:"health_start_period,omitempty"`
	HealthRetries     int                 `json:"health_retries,omitempty"`
	Labels            map[string]string   `json:"labels,omitempty"`
	User              string              `json:"user,omitempty"`
	WorkingDir        string              `json:"working_dir,omitempty"`
	StopTimeout       string              `json:"stop_timeout"`
}

// redacted is the spec with every env value replaced by "sha256:" and the
// first 16 hex digits of its SHA-256: what zrun writes to the server and
// shows in plans. A changed value is still a changed spec.
func (s spec) redacted() spec {
	if len(s.Env) == 0 {
		return s
	}
	env := make(map[string]string, len(s.Env))
	for k, v := range s.Env {
		sum := sha256.Sum256([]byte(v))
		env[k] = "sha256:" + hex.EncodeToString(sum[:])[:16]
	}
	s.Env = env
	return s
}

// label is the redacted spec's JSON (the zrun.spec.json label) and its
// SHA-256 in hex (the zrun.spec label). The hash is taken over the
// redacted JSON, so that the label pair can be checked against each other
// and no clear env value enters even the hash.
func (s spec) label() (specJSON, hash string) {
	b := marshalPlain(s.redacted())
	sum := sha256.Sum256(b)
	return string(b), hex.EncodeToString(sum[:])
}

// marshalPlain is json.Marshal without HTML escaping (a "<" in a command
// stays "<" in labels and plans) and without the encoder's newline.
func marshalPlain(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only strings, numbers, lists and maps of them: cannot fail.
		panic(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// desired is a docker.container step's arguments, parsed: its canonical
// spec (the image still as given until resolved on the engine) and what
// Docker and the health gate need of it.
type desired struct {
	spec spec

	exposed      nat.PortSet
	bindings     nat.PortMap
	mounts       []mount.Mount
	restart      container.RestartPolicy
	health       *container.HealthConfig
	stopTimeout  int // seconds
	httpCheck    *httpCheck
	readyTimeout time.Duration
	// keepReleases is how many kept containers of the name stay after a
	// replacement (keep_releases; not in the spec: changing it replaces
	// nothing).
	keepReleases int
	// handover leaves the old container serving after a swap, until
	// docker.retire (not in the spec either).
	handover bool
}

// httpCheck is a parsed http_check: a GET of PATH on PORT of the
// container's IP.
type httpCheck struct {
	port int
	path string
}

// publishes reports whether the spec binds a fixed port of the host, which
// only one container can hold at a time. A port whose host side is left to
// Docker ("127.0.0.1::8080") is not one: the candidate gets a port of its
// own and serves beside the old container.
func (d *desired) publishes() bool {
	for _, bs := range d.bindings {
		for _, b := range bs {
			if b.HostPort != "" {
				return true
			}
		}
	}
	return false
}

// networkNames are the spec's networks sorted: the first is given at
// create, and the health gate reaches the container on it.
func (d *desired) networkNames() []string {
	names := make([]string, 0, len(d.spec.Networks))
	for n := range d.spec.Networks {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// firstNetwork is the network the container is created on: the first of
// its networks, else Docker's default bridge.
func (d *desired) firstNetwork() string {
	if names := d.networkNames(); len(names) > 0 {
		return names[0]
	}
	return network.NetworkBridge
}

var (
	containerNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)
	volumeNameRE    = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)
	restartRE       = regexp.MustCompile(`^(no|always|unless-stopped|on-failure(:[0-9]+)?)$`)
)

// argPath is the path of a top-level argument.
func argPath(name string) cty.Path { return cty.GetAttrPath(name) }

// parseContainer checks a docker.container step's arguments and parses
// them. Arguments not yet known (known.Has false) are left out of both:
// at validation and plan time; at run time every argument is known.
func parseContainer(a containerArgs, known sdk.Known) (*desired, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	d := &desired{spec: spec{
		Name: a.Name, Image: a.Image, Command: a.Command, Entrypoint: a.Entrypoint,
		Env: a.Env, Ports: a.Ports, Volumes: a.Volumes, Labels: a.Labels,
		Restart: defaultRestart, User: deref(a.User), WorkingDir: deref(a.WorkingDir),
		HealthCmd: a.HealthCmd,
	}, stopTimeout: int(defaultStopTimeout / time.Second), readyTimeout: defaultReadyTimeout, keepReleases: defaultKeepReleases}

	if known.Has("name") {
		diags = append(diags, checkContainerName("name", a.Name)...)
	}
	if known.Has("image") && a.Image == "" {
		diags = diags.Errorf(argPath("image"), "Empty image", `"image" is an image reference ("zakupai/app:1.4.2") or ID ("sha256:...") on the target's engine.`)
	}
	if known.Has("env") {
		for k := range a.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				diags = diags.Errorf(argPath("env"), "Invalid environment variable name",
					fmt.Sprintf("%q cannot be an environment variable's name: it must be non-empty and hold no \"=\".", k))
			}
		}
	}
	diags = append(diags, d.parsePorts(a, known)...)
	diags = append(diags, d.parseVolumes(a, known)...)
	diags = append(diags, d.parseNetworks(a, known)...)
	diags = append(diags, d.parseResources(a, known)...)
	diags = append(diags, d.parseHealth(a, known)...)
	if known.Has("labels") {
		diags = append(diags, checkLabels(a.Labels)...)
	}
	if known.Has("stop_timeout") && a.StopTimeout != nil {
		if t, ok := duration(&diags, "stop_timeout", *a.StopTimeout, true); ok {
			d.spec.StopTimeout = t.String()
			d.stopTimeout = int(math.Ceil(t.Seconds()))
		}
	}
	if d.spec.StopTimeout == "" {
		d.spec.StopTimeout = defaultStopTimeout.String()
	}
	if known.Has("ready_timeout") && a.ReadyTimeout != nil {
		if t, ok := duration(&diags, "ready_timeout", *a.ReadyTimeout, false); ok {
			d.readyTimeout = t
		}
	}
	if known.Has("keep_releases") && a.KeepReleases != nil {
		if *a.KeepReleases < 0 {
			diags = diags.Errorf(argPath("keep_releases"), "Invalid keep_releases",
				fmt.Sprintf("keep_releases is how many replaced containers of this name are kept for docker.rollback: 0 (none) or more; got %d.", *a.KeepReleases))
		} else {
			d.keepReleases = *a.KeepReleases
		}
	}
	if known.Has("handover") && a.Handover != nil && *a.Handover {
		d.handover = true
		if known.Has("ports") && d.publishes() {
			diags = diags.Errorf(argPath("handover"), "Handover with a fixed host port",
				"With handover the new container serves beside the old one, so it cannot take a host port the old one holds: leave the host port to Docker (\"127.0.0.1::8080\") and point the proxy at the step's address output.")
		}
	}
	d.normalize()
	return d, diags
}

// normalize makes the spec's empty lists and maps one value (omitted), so
// that `env = {}` and no env are the same spec.
func (d *desired) normalize() {
	s := &d.spec
	if len(s.Command) == 0 {
		s.Command = nil
	}
	if len(s.Entrypoint) == 0 {
		s.Entrypoint = nil
	}
	if len(s.Env) == 0 {
		s.Env = nil
	}
	if len(s.Ports) == 0 {
		s.Ports = nil
	}
	if len(s.Volumes) == 0 {
		s.Volumes = nil
	}
	if len(s.Labels) == 0 {
		s.Labels = nil
	}
	if len(s.HealthCmd) == 0 {
		s.HealthCmd = nil
	}
	if len(s.Networks) == 0 {
		s.Networks = nil
	}
}

// checkLabels refuses the labels zrun keeps for itself.
func checkLabels(labels map[string]string) sdk.Diagnostics {
	var diags sdk.Diagnostics
	for k := range labels {
		if strings.HasPrefix(k, "zrun.") {
			diags = diags.Errorf(argPath("labels").IndexString(k), "Reserved label",
				fmt.Sprintf("Labels starting with \"zrun.\" are zrun's own (%s); choose another name.", k))
		}
	}
	return diags
}

// managedLabels are the step's labels and zrun.managed, for a network or
// a volume.
func managedLabels(labels map[string]string) map[string]string {
	l := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		l[k] = v
	}
	l[labelManaged] = "true"
	return l
}

// checkContainerName checks a container's name as Docker does, and keeps
// the names of a replacement's containers zrun's own.
func checkContainerName(arg, name string) sdk.Diagnostics {
	var diags sdk.Diagnostics
	switch {
	case !containerNameRE.MatchString(name):
		diags = diags.Errorf(argPath(arg), "Invalid container name",
			fmt.Sprintf("%q is not a container name: at least two characters, letters, digits, \"_\", \".\" and \"-\", starting with a letter or digit.", name))
	case strings.HasSuffix(name, candidateSuffix) || strings.HasSuffix(name, oldSuffix):
		diags = diags.Errorf(argPath(arg), "Reserved container name",
			fmt.Sprintf("Names ending in %q or %q are those zrun gives a container while it replaces it; choose another name.", candidateSuffix, oldSuffix))
	case strings.Contains(name, keptSuffix):
		diags = diags.Errorf(argPath(arg), "Reserved container name",
			fmt.Sprintf("Names holding %q are those zrun gives the replaced containers it keeps for docker.rollback; choose another name.", keptSuffix))
	}
	return diags
}

func (d *desired) parsePorts(a containerArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if !known.Has("ports") || len(a.Ports) == 0 {
		return nil
	}
	for i, p := range a.Ports {
		if _, err := nat.ParsePortSpec(p); err != nil {
			diags = diags.Errorf(argPath("ports").IndexInt(i), "Invalid port",
				fmt.Sprintf("%q: %s. A port is \"HOST:CONTAINER\" (\"8080:8080\"), \"IP:HOST:CONTAINER\" (\"127.0.0.1:9090:9090\"), \"IP::CONTAINER\" (a host port Docker picks: \"127.0.0.1::8080\"), optionally with /udp (\"5353:53/udp\").", p, err))
		}
	}
	if diags.HasErrors() {
		return diags
	}
	exposed, bindings, err := nat.ParsePortSpecs(a.Ports)
	if err != nil {
		return diags.Errorf(argPath("ports"), "Invalid ports", err.Error())
	}
	d.exposed, d.bindings = exposed, bindings
	return nil
}

func (d *desired) parseVolumes(a containerArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if !known.Has("volumes") {
		return nil
	}
	for i, v := range a.Volumes {
		m, err := parseVolume(v)
		if err != nil {
			diags = diags.Errorf(argPath("volumes").IndexInt(i), "Invalid volume",
				fmt.Sprintf("%q: %s. A volume is \"NAME:/path\" (a named volume) or \"/abs/host/path:/path\" (a bind mount), optionally with \":ro\".", v, err))
			continue
		}
		d.mounts = append(d.mounts, m)
	}
	return diags
}

// parseVolume parses "NAME:/path[:ro]" or "/host/path:/path[:ro]".
func parseVolume(v string) (mount.Mount, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return mount.Mount{}, fmt.Errorf("want SOURCE:/path or SOURCE:/path:ro")
	}
	m := mount.Mount{Source: parts[0], Target: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			m.ReadOnly = true
		case "rw":
		default:
			return m, fmt.Errorf("the mode is ro or rw, not %q", parts[2])
		}
	}
	if !strings.HasPrefix(m.Target, "/") {
		return m, fmt.Errorf("the path in the container must be absolute, not %q", m.Target)
	}
	switch {
	case strings.HasPrefix(m.Source, "/"):
		m.Type = mount.TypeBind
	case volumeNameRE.MatchString(m.Source):
		m.Type = mount.TypeVolume
	default:
		return m, fmt.Errorf("%q is neither a volume name nor an absolute host path", m.Source)
	}
	return m, nil
}

func (d *desired) parseNetworks(a containerArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if !known.Has("networks") {
		return nil
	}
	nets := make(map[string][]string, len(a.Networks))
	for name, aliases := range a.Networks {
		p := argPath("networks").IndexString(name)
		if name == "" {
			diags = diags.Errorf(argPath("networks"), "Empty network name", "Every key of \"networks\" names a network.")
		}
		for i, al := range aliases {
			if al == "" {
				diags = diags.Errorf(p.IndexInt(i), "Empty alias", "An alias is a DNS name of the container on the network.")
			}
		}
		if aliases == nil {
			aliases = []string{}
		}
		nets[name] = aliases
	}
	d.spec.Networks = nets
	return diags
}

func (d *desired) parseResources(a containerArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("restart") && a.Restart != nil {
		if !restartRE.MatchString(*a.Restart) {
			diags = diags.Errorf(argPath("restart"), "Invalid restart policy",
				fmt.Sprintf("%q is not a restart policy: no, always, unless-stopped, on-failure or on-failure:N.", *a.Restart))
		} else {
			d.spec.Restart = *a.Restart
		}
	}
	d.restart = restartPolicy(d.spec.Restart)
	size := func(arg string, v *string, dst *int64) {
		if !known.Has(arg) || v == nil {
			return
		}
		n, err := units.RAMInBytes(*v)
		if err == nil && n <= 0 {
			err = fmt.Errorf("it must be more than zero")
		}
		if err != nil {
			diags = diags.Errorf(argPath(arg), "Invalid size", fmt.Sprintf("%s = %q: %s. A size is a number with a unit: \"512M\", \"1G\".", arg, *v, err))
			return
		}
		*dst = n
	}
	size("memory", a.Memory, &d.spec.Memory)
	size("memory_reservation", a.MemoryReservation, &d.spec.MemoryReservation)
	if known.Has("cpus") && a.CPUs != nil {
		if *a.CPUs <= 0 || *a.CPUs > 1e6 {
			diags = diags.Errorf(argPath("cpus"), "Invalid CPUs", fmt.Sprintf("cpus is how many CPUs the container may use, more than zero (0.5, 2); got %g.", *a.CPUs))
		} else {
			d.spec.CPUs = *a.CPUs
		}
	}
	if known.Has("cpu_shares") && a.CPUShares != nil {
		if *a.CPUShares < 2 || *a.CPUShares > 262144 {
			diags = diags.Errorf(argPath("cpu_shares"), "Invalid CPU shares", fmt.Sprintf("cpu_shares is a relative weight from 2 to 262144 (1024 is one CPU's); got %d.", *a.CPUShares))
		} else {
			d.spec.CPUShares = *a.CPUShares
		}
	}
	return diags
}

func (d *desired) parseHealth(a containerArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	var hc container.HealthConfig
	set := false
	if known.Has("health_cmd") && len(a.HealthCmd) > 0 {
		if msg := checkHealthCmd(a.HealthCmd); msg != "" {
			diags = diags.Errorf(argPath("health_cmd"), "Invalid health command", msg)
		}
		hc.Test, set = a.HealthCmd, true
	}
	for _, f := range []struct {
		arg  string
		v    *string
		spec *string
		dst  *time.Duration
	}{
		{"health_interval", a.HealthInterval, &d.spec.HealthInterval, &hc.Interval},
		{"health_timeout", a.HealthTimeout, &d.spec.HealthTimeout, &hc.Timeout},
		{"health_start_period", a.HealthStartPeriod, &d.spec.HealthStartPeriod, &hc.StartPeriod},
	} {
		if !known.Has(f.arg) || f.v == nil {
			continue
		}
		if t, ok := duration(&diags, f.arg, *f.v, false); ok {
			*f.spec, *f.dst, set = t.String(), t, true
		}
	}
	if known.Has("health_retries") && a.HealthRetries != nil {
		if *a.HealthRetries < 0 {
			diags = diags.Errorf(argPath("health_retries"), "Invalid health retries", "health_retries is how many failed probes in a row make the container unhealthy: 0 (the image's or Docker's default) or more.")
		} else {
			d.spec.HealthRetries, hc.Retries, set = *a.HealthRetries, *a.HealthRetries, true
		}
	}
	if set {
		d.health = &hc
	}
	if known.Has("http_check") && a.HTTPCheck != nil {
		d.httpCheck = httpCheckArg(&diags, *a.HTTPCheck)
	}
	return diags
}

// httpCheckArg parses the http_check argument; an invalid one is an
// error diagnostic (and nil).
func httpCheckArg(diags *sdk.Diagnostics, v string) *httpCheck {
	hc, err := parseHTTPCheck(v)
	if err != nil {
		*diags = diags.Errorf(argPath("http_check"), "Invalid http_check",
			fmt.Sprintf("%q: %s. http_check is PORT/PATH on the container, e.g. \"8080/health\".", v, err))
	}
	return hc
}

// restartPolicy is Docker's restart policy of a spec's restart
// ("on-failure:3"), which is known to be valid.
func restartPolicy(restart string) container.RestartPolicy {
	name, count, _ := strings.Cut(restart, ":")
	n, _ := strconv.Atoi(count)
	return container.RestartPolicy{Name: container.RestartPolicyMode(name), MaximumRetryCount: n}
}

// checkHealthCmd says what is wrong with a health command, or "".
func checkHealthCmd(cmd []string) string {
	switch cmd[0] {
	case "NONE":
		if len(cmd) != 1 {
			return `["NONE"] disables the healthcheck and takes nothing else.`
		}
	case "CMD":
		if len(cmd) < 2 {
			return `["CMD", PROGRAM, ARGS...] needs the program to run.`
		}
	case "CMD-SHELL":
		if len(cmd) != 2 {
			return `["CMD-SHELL", "COMMAND"] takes one shell command.`
		}
	default:
		return fmt.Sprintf(`The first element is CMD, CMD-SHELL or NONE, not %q: ["CMD", "/app", "-check", "http://127.0.0.1:8080/health"].`, cmd[0])
	}
	return ""
}

// parseHTTPCheck parses "PORT/PATH" ("8080/health"; "8080" is "8080/").
func parseHTTPCheck(s string) (*httpCheck, error) {
	port, path, _ := strings.Cut(s, "/")
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("%q is not a port (1 to 65535)", port)
	}
	return &httpCheck{port: n, path: "/" + path}, nil
}

// duration parses a duration argument; a negative one, or a zero one
// unless zeroOK, is an error diagnostic.
func duration(diags *sdk.Diagnostics, arg, v string, zeroOK bool) (time.Duration, bool) {
	t, err := time.ParseDuration(v)
	if err == nil && (t < 0 || t == 0 && !zeroOK) {
		err = fmt.Errorf("it must be more than zero")
	}
	if err != nil {
		*diags = diags.Errorf(argPath(arg), "Invalid duration", fmt.Sprintf("%s = %q: %s. A duration is a number with a unit: \"500ms\", \"30s\", \"2m\".", arg, v, err))
		return 0, false
	}
	return t, true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// containerConfig is what Docker is given to create the container of the
// spec (its image resolved) under name, with labels. A candidate has no
// fixed host ports (the old container holds them; ports Docker picks it
// has) and no aliases (no traffic before it is ready).
func (d *desired) containerConfig(name string, labels map[string]string, candidate bool) (*container.Config, *container.HostConfig, *network.NetworkingConfig) {
	s := d.spec
	env := make([]string, 0, len(s.Env))
	for k, v := range s.Env {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	stop := d.stopTimeout
	cfg := &container.Config{
		Image: s.Image, Cmd: s.Command, Entrypoint: s.Entrypoint, Env: env,
		ExposedPorts: d.exposed, Labels: labels, User: s.User, WorkingDir: s.WorkingDir,
		Healthcheck: d.health, StopTimeout: &stop,
	}
	host := &container.HostConfig{
		Mounts:        d.mounts,
		RestartPolicy: d.restart,
		Resources: container.Resources{
			Memory: s.Memory, MemoryReservation: s.MemoryReservation,
			NanoCPUs: int64(math.Round(s.CPUs * 1e9)), CPUShares: s.CPUShares,
		},
	}
	if !candidate || !d.publishes() {
		host.PortBindings = d.bindings
	}
	var nets *network.NetworkingConfig
	if len(s.Networks) > 0 {
		first := d.firstNetwork()
		host.NetworkMode = container.NetworkMode(first)
		ep := &network.EndpointSettings{}
		if !candidate {
			ep.Aliases = s.Networks[first]
		}
		nets = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{first: ep}}
	}
	return cfg, host, nets
}
