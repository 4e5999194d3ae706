package compose

import (
	"fmt"
	"math"
	"net"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/zclconf/go-cty/cty"
)

// container is one service as docker.container's arguments, in one
// environment.
type container struct {
	// args are the arguments but env, each set one (absent: unset).
	args map[string]cty.Value
	// env is the container's environment, secrets included.
	env map[string]string
	// dependsOn are the services it starts after.
	dependsOn []string
	// networks and volumes are the keys of the project's networks and
	// named volumes it uses.
	networks, volumes []string
}

// notImported is told about what compose has and the container cannot
// take: key is the YAML path below the service (deploy.replicas).
type notImported func(key, why string)

// newContainer maps a service of project to docker.container's
// arguments, as docker compose would create its container.
func newContainer(p *types.Project, s types.ServiceConfig, skip notImported) *container {
	c := &container{args: map[string]cty.Value{}, env: map[string]string{}}
	set := func(name string, v cty.Value) {
		if v != cty.NilVal {
			c.args[name] = v
		}
	}
	name := s.ContainerName
	if name == "" {
		name = p.Name + "-" + s.Name + "-1" // compose's own naming
	}
	set("name", cty.StringVal(name))
	image := s.Image
	if image == "" {
		image = p.Name + "-" + s.Name // what compose tags a built image
	}
	set("image", cty.StringVal(image))
	if s.Build != nil {
		skip("build", fmt.Sprintf("zrun runs the image %s and does not build it: build it with a docker.build step (context %s) before, or push it and let the host pull it.", image, relTo(p.WorkingDir, s.Build.Context)))
	}
	set("command", stringList(s.Command))
	set("entrypoint", stringList(s.Entrypoint))
	for k, v := range s.Environment {
		if v == nil {
			skip("environment."+k, "it has no value and compose found none to give it.")
			continue
		}
		c.env[k] = *v
	}
	set("ports", c.ports(s.Ports, skip))
	set("volumes", c.mounts(p, s.Volumes, skip))
	set("networks", c.attach(p, s, skip))
	if s.Restart != "" && s.Restart != types.RestartPolicyNo {
		set("restart", cty.StringVal(s.Restart))
	}
	c.resources(s, set, skip)
	c.health(s.HealthCheck, set, skip)
	set("labels", stringMap(s.Labels))
	if s.User != "" {
		set("user", cty.StringVal(s.User))
	}
	if s.WorkingDir != "" {
		set("working_dir", cty.StringVal(s.WorkingDir))
	}
	if s.StopGracePeriod != nil {
		set("stop_timeout", cty.StringVal(duration(*s.StopGracePeriod)))
	}
	c.depends(s.DependsOn, skip)
	unsupported(reflect.ValueOf(s), "", handled, skip)
	return c
}

// handled are the service's keys newContainer maps (or, for profiles,
// the import does); every other key set is reported as not imported.
var handled = map[string]bool{
	"name": true, "profiles": true, "build": true, "command": true, "entrypoint": true,
	"environment": true, "env_file": true, "ports": true, "volumes": true, "networks": true,
	"restart": true, "deploy": true, "mem_limit": true, "mem_reservation": true, "cpus": true,
	"cpu_shares": true, "healthcheck": true, "labels": true, "user": true, "working_dir": true,
	"stop_grace_period": true, "container_name": true, "image": true, "depends_on": true,
	// compose-go has merged these into the keys above.
	"extends": true, "label_file": true,
}

// ports writes compose's ports as Docker's "[ip:]published:target[/proto]".
func (c *container) ports(ports []types.ServicePortConfig, skip notImported) cty.Value {
	var out []string
	for i, p := range ports {
		spec := strconv.FormatUint(uint64(p.Target), 10)
		if p.Published != "" {
			spec = p.Published + ":" + spec
			if p.HostIP != "" {
				ip := p.HostIP
				if parsed := net.ParseIP(ip); parsed != nil && parsed.To4() == nil {
					ip = "[" + ip + "]"
				}
				spec = ip + ":" + spec
			}
		}
		if p.Protocol != "" && p.Protocol != "tcp" {
			spec += "/" + p.Protocol
		}
		if p.Name != "" || p.AppProtocol != "" {
			skip(fmt.Sprintf("ports.%d", i), "a port's name and app_protocol are compose's own: the port is published without them.")
		}
		if p.Mode == "host" {
			skip(fmt.Sprintf("ports.%d.mode", i), "mode host is swarm's: the port is published as usual.")
		}
		out = append(out, spec)
	}
	return stringList(out)
}

// mounts writes named volumes as "DOCKER_NAME:/path[:ro]" and binds as
// "/abs/host/path:/path[:ro]" (compose-go has made relative ones
// absolute, against the project folder).
func (c *container) mounts(p *types.Project, vols []types.ServiceVolumeConfig, skip notImported) cty.Value {
	var out []string
	for i, v := range vols {
		key := fmt.Sprintf("volumes.%d", i)
		var src string
		switch v.Type {
		case types.VolumeTypeVolume:
			if v.Source == "" {
				skip(key, fmt.Sprintf("an anonymous volume (%s) has no name to give docker.container: name it in the top-level volumes.", v.Target))
				continue
			}
			src = v.Source
			if vc, ok := p.Volumes[v.Source]; ok && vc.Name != "" {
				src = vc.Name
			}
			if !slices.Contains(c.volumes, v.Source) {
				c.volumes = append(c.volumes, v.Source)
			}
			if v.Volume != nil && (v.Volume.NoCopy || v.Volume.Subpath != "") {
				skip(key+".volume", "nocopy and subpath are not among docker.container's volume options.")
			}
		case types.VolumeTypeBind:
			src = v.Source
			// Docker creates a missing host folder of a bind, as
			// compose's create_host_path does.
			if v.Bind != nil && (v.Bind.Propagation != "" || v.Bind.SELinux != "") {
				skip(key+".bind", "propagation and selinux are not among docker.container's bind options.")
			}
		default:
			skip(key, fmt.Sprintf("a %s mount (%s) is not among docker.container's volumes, which are named volumes and binds.", v.Type, v.Target))
			continue
		}
		spec := src + ":" + v.Target
		if v.ReadOnly {
			spec += ":ro"
		}
		if v.Consistency != "" {
			skip(key+".consistency", "consistency is Docker Desktop's and is ignored.")
		}
		out = append(out, spec)
	}
	return stringList(out)
}

// attach maps the service's networks to their Docker names, each with
// the aliases compose gives: the service's name, then its own.
func (c *container) attach(p *types.Project, s types.ServiceConfig, skip notImported) cty.Value {
	if s.NetworkMode != "" {
		skip("network_mode", fmt.Sprintf("network_mode %q is not among docker.container's arguments: the container joins no network.", s.NetworkMode))
	}
	if len(s.Networks) == 0 {
		return cty.NilVal
	}
	out := map[string]cty.Value{}
	for _, key := range sortedKeys(s.Networks) {
		name := key
		if nc, ok := p.Networks[key]; ok && nc.Name != "" {
			name = nc.Name
		}
		c.networks = append(c.networks, key)
		aliases := []string{s.Name}
		if cfg := s.Networks[key]; cfg != nil {
			for _, a := range cfg.Aliases {
				if !slices.Contains(aliases, a) {
					aliases = append(aliases, a)
				}
			}
			if cfg.Ipv4Address != "" || cfg.Ipv6Address != "" || len(cfg.LinkLocalIPs) > 0 || cfg.MacAddress != "" || cfg.Priority != 0 || len(cfg.DriverOpts) > 0 || cfg.GatewayPriority != 0 || cfg.InterfaceName != "" {
				skip("networks."+key, "only aliases are imported: fixed addresses, priorities and driver options are not among docker.container's arguments.")
			}
		}
		out[name] = cty.ListVal(stringVals(aliases))
	}
	return cty.ObjectVal(out)
}

// resources maps deploy.resources (or the service-level mem_limit, cpus,
// mem_reservation and cpu_shares): a reservation of CPUs becomes the
// relative weight cpu_shares, 1024 a CPU.
func (c *container) resources(s types.ServiceConfig, set func(string, cty.Value), skip notImported) {
	var lim, res types.Resource
	if s.Deploy != nil {
		if s.Deploy.Resources.Limits != nil {
			lim = *s.Deploy.Resources.Limits
		}
		if s.Deploy.Resources.Reservations != nil {
			res = *s.Deploy.Resources.Reservations
		}
		d := *s.Deploy
		d.Resources = types.Resources{}
		unsupported(reflect.ValueOf(d), "deploy.", nil, skip)
		for _, r := range []struct {
			key string
			r   types.Resource
		}{{"deploy.resources.limits.", lim}, {"deploy.resources.reservations.", res}} {
			unsupported(reflect.ValueOf(r.r), r.key, map[string]bool{"cpus": true, "memory": true}, skip)
		}
	}
	if m := firstBytes(lim.MemoryBytes, s.MemLimit); m > 0 {
		set("memory", cty.StringVal(size(m)))
	}
	if m := firstBytes(res.MemoryBytes, s.MemReservation); m > 0 {
		set("memory_reservation", cty.StringVal(size(m)))
	}
	if cpus := float32(lim.NanoCPUs); cpus > 0 {
		set("cpus", number(float64(cpus)))
	} else if s.CPUS > 0 {
		set("cpus", number(float64(s.CPUS)))
	}
	if cpus := float32(res.NanoCPUs); cpus > 0 {
		set("cpu_shares", cty.NumberIntVal(int64(math.Round(float64(cpus)*1024))))
	} else if s.CPUShares > 0 {
		set("cpu_shares", cty.NumberIntVal(s.CPUShares))
	}
}

// health maps the healthcheck; disable is Docker's ["NONE"].
func (c *container) health(h *types.HealthCheckConfig, set func(string, cty.Value), skip notImported) {
	if h == nil {
		return
	}
	switch {
	case h.Disable:
		set("health_cmd", cty.ListVal([]cty.Value{cty.StringVal("NONE")}))
	case len(h.Test) > 0:
		set("health_cmd", stringList(h.Test))
	}
	for name, d := range map[string]*types.Duration{"health_interval": h.Interval, "health_timeout": h.Timeout, "health_start_period": h.StartPeriod} {
		if d != nil {
			set(name, cty.StringVal(duration(*d)))
		}
	}
	if h.Retries != nil {
		set("health_retries", cty.NumberUIntVal(*h.Retries))
	}
	if h.StartInterval != nil {
		skip("healthcheck.start_interval", "start_interval is not among docker.container's arguments.")
	}
}

// depends records the services this one starts after. A step that
// depends on another waits for its health gate, which is compose's
// service_healthy and more than service_started.
func (c *container) depends(deps types.DependsOnConfig, skip notImported) {
	for _, name := range sortedKeys(deps) {
		d := deps[name]
		c.dependsOn = append(c.dependsOn, name)
		if d.Condition == types.ServiceConditionCompletedSuccessfully {
			skip("depends_on."+name+".condition", fmt.Sprintf("zrun waits for %s's container to be ready (running, and healthy if it has a healthcheck), not for it to exit: service_completed_successfully is not expressed.", name))
		}
		if d.Restart {
			skip("depends_on."+name+".restart", fmt.Sprintf("zrun does not restart this container when %s is replaced.", name))
		}
	}
}

// unsupported reports every key of the struct v (a compose-go type with
// yaml tags) that is set and not in known, below prefix.
func unsupported(v reflect.Value, prefix string, known map[string]bool, skip notImported) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "-" || key == "" || known[key] || v.Field(i).IsZero() {
			continue
		}
		if key == "#extensions" {
			for _, x := range sortedKeys(v.Field(i).Interface().(types.Extensions)) {
				skip(prefix+x, "extension fields are compose's own.")
			}
			continue
		}
		skip(prefix+key, "docker.container has no such argument.")
	}
}

// duration writes a Go duration without its zero units ("1m", not "1m0s").
func duration(d types.Duration) string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// size writes bytes in Docker's units, the largest that divides them.
func size(b int64) string {
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if b%u.n == 0 {
			return strconv.FormatInt(b/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(b, 10)
}

func firstBytes(a, b types.UnitBytes) int64 {
	if a > 0 {
		return int64(a)
	}
	return int64(b)
}

// number is a float32 of compose's as the decimal it was written as.
func number(f float64) cty.Value {
	v, err := cty.ParseNumberVal(strconv.FormatFloat(f, 'f', -1, 32))
	if err != nil {
		return cty.NumberFloatVal(f)
	}
	return v
}

// stringList is a list of strings, or nothing for nil.
func stringList(s []string) cty.Value {
	if s == nil {
		return cty.NilVal
	}
	if len(s) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	return cty.ListVal(stringVals(s))
}

func stringVals(s []string) []cty.Value {
	out := make([]cty.Value, len(s))
	for i, x := range s {
		out[i] = cty.StringVal(x)
	}
	return out
}

// stringMap is an object of strings, or nothing when empty.
func stringMap(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.NilVal
	}
	out := map[string]cty.Value{}
	for k, v := range m {
		out[k] = cty.StringVal(v)
	}
	return cty.ObjectVal(out)
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
