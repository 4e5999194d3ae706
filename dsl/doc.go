// Package dsl parses a zrun project, a folder of HCL files, into immutable
// config structs (Config, Workflow, Step, Environment...) and checks their
// shape. It does not evaluate step expressions and never calls a plugin: a
// step's own arguments stay an undecoded hcl.Body until the engine knows
// the action's schema (dsl/lang evaluates them). The only values computed
// here are static ones (durations, param defaults, names) and environment
// values, which may call functions from dsl/funcs but reference nothing.
//
// # Language reference
//
// A project is a folder:
//
//	zrun.hcl              project settings (optional)
//	workflows/*.hcl       workflows, by convention
//	environments/*.hcl    environments, by convention
//
// Any of these files may hold any kind of top-level block; the folders are
// only conventions. Other files are not read. Each file is read with
// dsl/limits: a regular file of at most 1 MiB, nested at most 128 levels
// deep, checked before it is parsed; a folder that cannot be listed is an
// error. A file that cannot be read or parsed is reported and the others
// still load. The top-level blocks are
// zrun, workflow "NAME", environment "NAME" and secret "NAME". Names of
// workflows, environments, params, steps, outputs, hosts and secrets are
// HCL identifiers: letters, digits, underscores and dashes, starting with
// a letter.
//
// # The zrun block
//
//	zrun {
//	  project = "zakupai"
//	  required_plugins {
//	    greet = { version = ">= 0.1.0, < 2.0.0" }   # external plugin zrun-plugin-greet
//	  }
//	}
//
// At most one zrun block per project.
//
// # Environments
//
//	environment "stage" {
//	  extends     = "dev"               # optional: inherit dev, override what differs
//	  description = "Staging server"
//	  log_level   = "INFO"              # any other argument is a value: env.log_level
//	  secret "db_password" { env = "STAGE_DB_PASSWORD" }   # see Secrets
//	  services    = { gateway = { url = "http://localhost:8080" } }
//
//	  host "web1" {                     # a machine steps may target: target = "web1"
//	    address          = "10.0.0.5"   # required
//	    user             = "deploy"     # default: the local user's name
//	    port             = 22           # default 22
//	    private_key_file = "~/.ssh/id_ed25519"
//	    passphrase       = secret.key_pass   # only a secret reference
//	    agent            = true         # default: SSH_AUTH_SOCK is set and no key file
//	    known_hosts_file = "~/.ssh/known_hosts"   # the default
//	    host_key         = "ssh-ed25519 AAAA..."  # or pin the one key accepted
//	    jump             = "bastion"    # another host of the environment (ProxyJump)
//	    sudo             = true         # the host's commands run as root
//	    groups           = ["web"]      # groups the host belongs to
//	  }
//	  group "web" {                     # target = "web": one step instance per host
//	    hosts = ["web1", "web2"]
//	  }
//	}
//
// Values are evaluated when the project loads. They may call functions
// (upper("x"), env("HOME"), file("motd.txt")) but not reference anything.
// An environment that extends another is deep-merged over it: where both
// set an object the two merge key by key, recursively; any other value
// (string, number, list...) replaces the parent's whole. Hosts and group
// blocks merge by name, the child's replacing the parent's whole (groups
// list included). Chains of any length are
// allowed: an environment links to its parent and is read through the
// chain (Environment.Value), never copied, so resolution is linear. A
// cycle is an error that names every member. The value name
// "hosts" is reserved.
//
// A host's string arguments may call functions but reference nothing;
// passphrase is the one exception: it must be secret.NAME, read only when
// a step first reaches the host, so that no passphrase is written in the
// project's files. private_key_file and known_hosts_file expand ~/ and
// are relative to the project folder. A group's members are the hosts its
// block lists and the hosts whose groups argument names it; a group needs
// no block. The loader reports a jump or a group member naming no host of
// the environment, a cycle of jumps, a group and a host of the same name,
// the group name "local" (the local machine's target) and arguments a
// host does not take, in each environment that has the problem.
//
// # Secrets
//
//	secret "db_password" {
//	  env = "ZAKUPAI_DB_PASSWORD"          # a process environment variable
//	}
//	secret "api_key" {
//	  file = "/run/secrets/api_key"        # a file's content, one trailing newline trimmed
//	}
//	secret "telegram_token" {
//	  dotenv = ".env.prod"                 # a key of a dotenv file
//	  key    = "TELEGRAM_BOT_TOKEN"
//	}
//	secret "openai_key" {
//	  command = ["pass", "show", "zakupai/openai"]   # stdout of a command, no shell
//	}
//	secret "b2_key" {
//	  vault = "secret/data/zakupai"        # a HashiCorp Vault KV v2 path
//	  key   = "b2_application_key"
//	}
//
// A secret block names where a value comes from; it holds exactly one
// source argument (env, file, dotenv, command or vault), plus key for
// dotenv and vault. Like environment values, these arguments may call
// functions but not reference anything. Relative paths are relative to
// the project folder. A secret block outside any environment belongs to
// every environment; one inside an environment block belongs to it and to
// the environments that extend it, and replaces a secret of the same name
// declared outside or in a parent. Values are read only when a run needs
// them (engine/secrets), and are marked sensitive.
//
// # Workflows
//
//	workflow "health-check" {
//	  description = "Checks every service"
//	  timeout     = "5m"                # whole workflow, optional
//
//	  param "attempts" {
//	    type        = number            # a type constraint; omitted means any
//	    default     = 6                 # omitted means the caller must supply it
//	    description = "How many tries"
//	    sensitive   = false
//	  }
//
//	  step "gateway" {
//	    action            = http.check      # <plugin>.<action>, unquoted
//	    depends_on        = [step.migrate]  # extra ordering; references order steps already
//	    when              = param.attempts > 0
//	    for_each          = env.services    # a map/object, or a set of strings
//	    target            = "web"           # a host or group; omitted or "local": this machine
//	    timeout           = "30s"
//	    continue_on_error = true
//	    retry {
//	      attempts  = 3                 # every try, the first included; >= 1
//	      delay     = "1s"              # before the second try; default "1s"
//	      backoff   = 2                 # delay multiplier per try; >= 1, default 1
//	      max_delay = "30s"             # cap on the delay, optional
//	    }
//	    precondition {                  # before the action runs; any number
//	      condition     = param.attempts < 10
//	      error_message = "at most 9 attempts"
//	    }
//	    postcondition {                 # after each successful attempt; self: the outputs
//	      condition     = self.healthy
//	      error_message = "${each.key} is not healthy"
//	    }
//	    url = "${each.value.url}/health"  # everything else: the action's arguments
//	  }
//
//	  step "restart" {
//	    action              = exec.run
//	    target              = "web"     # a group: one instance per host, step.restart["web1"]
//	    parallel            = 5         # hosts at once; default 10
//	    batch_size          = "25%"     # or a number; omitted: one batch of all hosts
//	    max_fail_percentage = 10        # or max_failures = 1; default: no failure tolerated
//	    cmd                 = ["systemctl", "restart", "app"]
//	  }
//
//	  step "backup" {
//	    workflow = "backup"             # call another workflow instead of an action
//	    db       = "main"               # the rest: the called workflow's params
//	  }
//
//	  on_failure {                      # at most one; runs when the workflow fails
//	    step "rollback" {
//	      action = exec.run
//	      cmd    = ["./rollback.sh"]
//	    }
//	  }
//	  finally {                         # at most one; always runs
//	    step "notify" {
//	      action = exec.run
//	      cmd    = ["echo", run.id]
//	    }
//	  }
//
//	  output "status" {
//	    value       = step.gateway["calc"].status
//	    description = "Status of calc"
//	    sensitive   = false
//	  }
//	}
//
// A step has exactly one of action and workflow. The meta-arguments are
// action, workflow, depends_on, when, for_each, target, parallel,
// batch_size, max_failures, max_fail_percentage, timeout,
// continue_on_error and the retry, precondition and postcondition blocks; every other argument or block
// belongs to the action and is checked against its schema. Step names are
// unique across a workflow's steps, on_failure and finally. depends_on
// lists steps of the same workflow as step.NAME. The fan-out arguments
// (parallel, batch_size, max_failures, max_fail_percentage) are literal
// values and need a target; they cannot go with for_each, and a step that
// calls a workflow takes no target. See docs/targets.md. A workflow may not call
// itself, directly or through others. Durations are Go durations: "300ms",
// "30s", "5m", "1h30m".
//
// # References
//
//	param.NAME                a param of the running workflow
//	env.NAME                  a value of the selected environment (env.hosts.NAME for hosts)
//	secret.NAME               a secret of the selected environment (a sensitive string)
//	step.NAME.OUTPUT          an output of a step; step.NAME["KEY"].OUTPUT under for_each
//	each.key, each.value      the current for_each element; in a group's step, the host's name
//	run.id, run.workflow, run.env, run.started_at, run.releases
//	self.OUTPUT               the step's own outputs, in its postcondition blocks only
//
// A reference to a step makes the referring step wait for it.
//
// # Functions
//
// go-cty's standard library and the functions ops work needs; see
// dsl/funcs for the full list. env("NAME") reads zrun's process
// environment and fails when the variable is unset; env("NAME", "default")
// does not. file, fileexists, fileset and templatefile resolve relative
// paths against the project folder.
package dsl
