package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// flagUse is one command's flag reading a variable.
type flagUse struct{ path, name, usage string }

// TestEnvRule walks every command's flags and checks the environment rule
// (flags.go, envPrefix): no variable is read by two flags of different
// meaning, shared flags read DYNKV_<FLAG>, a command's own flags
// DYNKV_<COMMAND>_<FLAG>, and one-shot flags none.
func TestEnvRule(t *testing.T) {
	docs := commandDocs()
	byEnv := map[string][]flagUse{}
	envOf := map[string]string{} // "ring --partitions" → its variable
	for _, d := range docs {
		if len(d.flags) == 0 && d.path != "completion" {
			t.Errorf("dynkv %s --help lists no flags", d.path)
		}
		scope := envWord(strings.Fields(d.path)[0])
		for _, fl := range d.flags {
			envOf[d.path+" --"+fl.name] = fl.env
			if fl.env == "" {
				continue
			}
			byEnv[fl.env] = append(byEnv[fl.env], flagUse{d.path, fl.name, fl.usage})
			if fl.env != envName(fl.name) && fl.env != envPrefix+scope+"_"+envWord(fl.name) {
				t.Errorf("dynkv %s --%s reads %s: want %s or %s", d.path, fl.name, fl.env, envName(fl.name), envPrefix+scope+"_"+envWord(fl.name))
			}
		}
	}
	for env, uses := range byEnv {
		for _, u := range uses[1:] {
			if u.name != uses[0].name || u.usage != uses[0].usage {
				t.Errorf("%s is read by two flags of different meaning:\n  dynkv %s --%s: %s\n  dynkv %s --%s: %s",
					env, uses[0].path, uses[0].name, uses[0].usage, u.path, u.name, u.usage)
			}
		}
	}
	for flag, want := range map[string]string{
		// serve's documented variables, which deploy/ and chaos/ set
		"serve --node-id": "DYNKV_NODE_ID", "serve --data-dir": "DYNKV_DATA_DIR", "serve --http-addr": "DYNKV_HTTP_ADDR",
		"serve --gossip-addr": "DYNKV_GOSSIP_ADDR", "serve --join": "DYNKV_JOIN", "serve --n": "DYNKV_N",
		"serve --r": "DYNKV_R", "serve --w": "DYNKV_W", "serve --partitions": "DYNKV_PARTITIONS",
		"healthcheck --http-addr": "DYNKV_HTTP_ADDR", "dev --n": "DYNKV_N", "dev --log-level": "DYNKV_LOG_LEVEL",
		// one name, two meanings before: now apart
		"ring --partitions": "DYNKV_RING_PARTITIONS", "dev --data-dir": "DYNKV_DEV_DATA_DIR",
		"get --timeout": "DYNKV_GET_TIMEOUT", "backup --timeout": "DYNKV_BACKUP_TIMEOUT",
		"loadtest --timeout": "DYNKV_LOADTEST_TIMEOUT", "healthcheck --timeout": "DYNKV_HEALTHCHECK_TIMEOUT",
		"loadtest --r": "DYNKV_LOADTEST_R", "get --r": "DYNKV_GET_R", "cert create-ca --certs-dir": "DYNKV_CERT_CERTS_DIR",
		// the client's connection, the same everywhere
		"get --endpoints": "DYNKV_ENDPOINTS", "loadtest --token": "DYNKV_TOKEN", "status --ca-cert": "DYNKV_CA_CERT",
		// where the keys are, the same for every key command
		"get --bucket": "DYNKV_BUCKET", "ls --bucket": "DYNKV_BUCKET", "backup --bucket": "DYNKV_BUCKET",
		// one-shot flags read nothing
		"put --context": "", "delete --context": "", "cert create-ca --overwrite": "",
		"restore --bucket": "", "bucket set --n": "", "bucket set --ttl": "", "bucket set --conflict": "",
	} {
		got, ok := envOf[flag]
		if !ok {
			t.Errorf("dynkv %s: no such flag", flag)
		} else if got != want {
			t.Errorf("dynkv %s reads %q, want %q", flag, got, want)
		}
	}
	if _, ok := byEnv["DYNKV_TIMEOUT"]; ok {
		t.Errorf("DYNKV_TIMEOUT is read by %v: each command's --timeout has its own default, so its own variable", byEnv["DYNKV_TIMEOUT"])
	}
	checkDeployVariables(t, byEnv)
}

// checkDeployVariables checks that every DYNKV_ variable the Compose files
// and the Dockerfile give a container is one a dynkv flag reads, so a
// renamed variable cannot be left behind there.
func checkDeployVariables(t *testing.T, byEnv map[string][]flagUse) {
	t.Helper()
	files, _ := filepath.Glob("../../deploy/*.yml")
	more, _ := filepath.Glob("../../chaos/testdata/*.yml")
	files = append(files, append(more, "../../deploy/Dockerfile")...)
	// A key of a Compose environment map, or an ENV assignment.
	set := regexp.MustCompile(`(?m)^\s*(?:ENV\s+)?(DYNKV_[A-Z0-9_]+)(?::|=)`)
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range set.FindAllSubmatch(b, -1) {
			if _, ok := byEnv[string(m[1])]; !ok {
				t.Errorf("%s sets %s, which no dynkv flag reads", file, m[1])
			}
		}
	}
}

// TestEnvOneMeaning runs the two clashes the rule removed: a count meant
// for serve no longer breaks dynkv ring, and DYNKV_CONTEXT no longer turns
// every put into a blind overwrite.
func TestEnvOneMeaning(t *testing.T) {
	_, eps := cliCluster(t)
	env := []string{"DYNKV_PARTITIONS=512", "DYNKV_TIMEOUT=1ns", "DYNKV_ENDPOINTS=" + eps}
	r := cli(t, "", env, "ring").ok(t, "ring")
	if !strings.Contains(r.stdout, "partition") {
		t.Errorf("dynkv ring: %q", r.stdout)
	}
	all := cli(t, "", append(env, "DYNKV_RING_PARTITIONS=true"), "ring").ok(t, "ring")
	if len(all.stdout) <= len(r.stdout) {
		t.Errorf("DYNKV_RING_PARTITIONS=true did not list every partition:\n%s", all.stdout)
	}
	cli(t, "", append(env, "DYNKV_GET_TIMEOUT=1ns"), "get", "k").failsWith(t, 1, "timeout")

	first := strings.TrimSpace(cli(t, "", env, "put", "cart", "a").ok(t).stdout)
	// A context exported and forgotten: the next put must not use it.
	cli(t, "", append(env, "DYNKV_CONTEXT="+first), "put", "cart", "b").ok(t)
	got := cli(t, "", env, "get", "cart", "-o", "json").ok(t).stdout
	for _, v := range []string{`"YQ=="`, `"Yg=="`} {
		if !strings.Contains(got, v) {
			t.Errorf("after a put beside an exported DYNKV_CONTEXT, get shows %s; want both values as siblings, none overwritten", got)
		}
	}
}

// TestHelpFooterStatesRule checks every --help ends with the rule.
func TestHelpFooterStatesRule(t *testing.T) {
	for _, d := range commandDocs() {
		var out bytes.Buffer
		args := append(strings.Fields(d.path), "--help")
		run(args, strings.NewReader(""), &out, &out, noEnv)
		if !strings.HasSuffix(out.String(), envFooter) {
			t.Errorf("dynkv %s --help does not end with the environment rule:\n%s", d.path, out.String())
		}
	}
}
