package dsl

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHostsAndGroups reads the hosts fixture: every host argument, groups
// from blocks and from hosts' groups lists, and their inheritance (a
// child's host or group block replaces the parent's whole).
func TestHostsAndGroups(t *testing.T) {
	cfg, diags := loadFixture(t, "testdata/valid/hosts.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	prod, stage := cfg.Environments["prod"], cfg.Environments["stage"]
	web1, _ := prod.Host("web1")
	if web1.Port != 2222 || web1.User != "deploy" || web1.Jump != "bastion" || !web1.Sudo ||
		web1.HostKey == "" || !cmp.Equal(web1.Groups, []string{"web", "eu"}) {
		t.Errorf("web1 = %+v", web1)
	}
	bastion, _ := prod.Host("bastion")
	if bastion.PrivateKeyFile != "~/.ssh/id_ed25519" || bastion.Passphrase != "deploy_key_pass" ||
		bastion.KnownHostsFile != "~/.ssh/known_hosts" || bastion.UsesAgent("/tmp/agent.sock") {
		t.Errorf("bastion = %+v", bastion)
	}
	db, _ := prod.Host("db")
	if !db.UsesAgent("/tmp/agent.sock") || db.UsesAgent("") {
		t.Errorf("db without a key file uses the agent exactly when there is one")
	}
	for name, tc := range map[string]struct {
		env  *Environment
		want map[string][]string
	}{
		"prod": {prod, map[string][]string{
			"web": {"web1", "web2"}, "eu": {"db", "web1"}, "backends": {"db", "web1"},
		}},
		// stage's web2 replaces prod's, groups and all; its backends
		// block replaces prod's.
		"stage": {stage, map[string][]string{
			"web": {"web1"}, "eu": {"db", "web1"}, "backends": {"web2"},
		}},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.env.Groups()); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
	if got, want := stage.TargetNames(), []string{"backends", "bastion", "db", "eu", "web", "web1", "web2"}; !cmp.Equal(got, want) {
		t.Errorf("TargetNames = %v, want %v", got, want)
	}
	f := cfg.Workflows["deploy"].Steps["restart"].Fanout
	if f == nil || f.Parallel != 5 || f.BatchPercent != 25 || f.MaxFailPercent == nil || *f.MaxFailPercent != 10 {
		t.Errorf("restart's fan-out = %+v", f)
	}
	if f := cfg.Workflows["deploy"].Steps["check"].Fanout; f.Parallel != DefaultParallel || f.BatchSize != 1 || *f.MaxFailures != 0 {
		t.Errorf("check's fan-out = %+v", f)
	}
}

func TestFanoutBatches(t *testing.T) {
	hosts := []string{"a", "b", "c", "d", "e", "f", "g"}
	for name, tc := range map[string]struct {
		f    Fanout
		want []int // batch sizes
	}{
		"one batch":          {Fanout{}, []int{7}},
		"two at a time":      {Fanout{BatchSize: 2}, []int{2, 2, 2, 1}},
		"larger than all":    {Fanout{BatchSize: 10}, []int{7}},
		"30% rounds down":    {Fanout{BatchPercent: 30}, []int{2, 2, 2, 1}},
		"1% is at least one": {Fanout{BatchPercent: 1}, []int{1, 1, 1, 1, 1, 1, 1}},
	} {
		t.Run(name, func(t *testing.T) {
			var got []int
			for _, b := range tc.f.Batches(hosts) {
				got = append(got, len(b))
			}
			if !cmp.Equal(got, tc.want) {
				t.Errorf("batches %v, want %v", got, tc.want)
			}
		})
	}
	pct := 30.0
	if n := (&Fanout{MaxFailPercent: &pct}).Tolerated(7); n != 2 {
		t.Errorf("30%% of 7 tolerates %d, want 2", n)
	}
}
