package secrets

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/dsl"
)

func TestReferenced(t *testing.T) {
	src := `
workflow "deploy" {
  step "migrate" {
    action = exec.run
    when   = secret.flag != ""
    cmd    = ["./migrate.sh"]
    env    = { DB_PASSWORD = secret.db_password, HOST = env.db_host }
    header "Authorization" {
      value = "Bearer ${secret.api_key}"
    }
  }
  step "each" {
    action   = exec.run
    for_each = toset([for secret in ["a"] : secret])
    target   = secret.host
    cmd      = [each.value, param.x, step.migrate.out]
  }
  step "backup" {
    workflow = "backup"
    password = secret.db_password
  }
  on_failure {
    step "alert" {
      action = http.post
      token  = secret.telegram_token
    }
  }
  output "dsn" {
    value = "postgres://app:${secret.out}@db"
  }
}
workflow "backup" {
  step "upload" {
    workflow = "upload"
  }
}
workflow "upload" {
  step "b2" {
    action = exec.run
    key    = secret.b2_key
    again  = secret.b2_key
  }
}
defaults "postgres" {
  password = secret.pg_password
}
workflow "defaulted" {
  defaults "exec" {
    env = { TOKEN = secret.exec_token }
  }
  step "q" {
    action = postgres.query
    sql    = "select 1"
  }
  step "r" {
    action = exec.run
  }
  step "other" {
    action = http.check
  }
}
workflow "plain" {
  step "s" {
    action = exec.run
    cmd    = ["true"]
  }
}
workflow "loop_a" {
  step "a" {
    workflow = "loop_b"
    x        = secret.a
  }
}
workflow "loop_b" {
  step "b" {
    workflow = "loop_a"
    y        = secret.b
  }
}
`
	cfg, _ := dsl.NewParser().LoadFile("wf.hcl", []byte(src)) // loop_a/loop_b is an error, still loaded
	tests := map[string]struct {
		workflow string
		want     []string
	}{
		"steps, blocks, meta-arguments, outputs and called workflows": {
			workflow: "deploy",
			want:     []string{"api_key", "b2_key", "db_password", "flag", "host", "out", "telegram_token"},
		},
		"called workflow alone":                 {workflow: "backup", want: []string{"b2_key"}},
		"none":                                  {workflow: "plain", want: []string{}},
		"defaults of the plugins the steps use": {workflow: "defaulted", want: []string{"exec_token", "pg_password"}},
		"calls in a cycle end":                  {workflow: "loop_a", want: []string{"a", "b"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			wf := cfg.Workflows[tc.workflow]
			if wf == nil {
				t.Fatalf("workflow %s not loaded", tc.workflow)
			}
			if diff := cmp.Diff(tc.want, Referenced(cfg, wf, nil)); diff != "" {
				t.Errorf("secrets (-want +got):\n%s", diff)
			}
		})
	}
}
