//go:build chaos

package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"slices"
	"strings"
)

// Picking what a run's cluster uses of the host: a loopback port for each
// node's published API and a /24 for its network, none of them in use.

// freePort is a loopback port nobody listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeSubnet picks a /24 in 172.30.0.0/16 that no Docker network and no
// interface of this host uses.
func freeSubnet() (string, error) {
	var used []*net.IPNet
	if out, err := exec.Command("docker", "network", "ls", "-q").Output(); err == nil {
		ids := strings.Fields(string(out))
		if len(ids) > 0 {
			f, err := exec.Command("docker", append([]string{"network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}"}, ids...)...).Output()
			if err == nil {
				for _, s := range strings.Fields(string(f)) {
					if _, n, err := net.ParseCIDR(s); err == nil {
						used = append(used, n)
					}
				}
			}
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				used = append(used, n)
			}
		}
	}
	for range 200 {
		prefix := fmt.Sprintf("172.30.%d", 100+rand.IntN(150))
		_, mine, _ := net.ParseCIDR(prefix + ".0/24")
		if !slices.ContainsFunc(used, func(n *net.IPNet) bool { return n.Contains(mine.IP) || mine.Contains(n.IP) }) {
			return prefix, nil
		}
	}
	return "", errors.New("no free /24 in 172.30.0.0/16 for the cluster network")
}
