// Package chaos is dynkv's chaos suite: real nodes in containers, cut
// apart and killed for real, under a verifying load. The tests build only
// with the chaos tag, need Docker and the image of `make image`, and take
// about four minutes:
//
//	make chaos    # = make image && go test -tags chaos -count=1 -v -timeout 25m ./chaos/
//
// # What it does
//
// One run starts a five-node cluster from deploy/docker-compose.yml (its
// "five" profile) under a Compose project of its own, on a /24 and host
// ports of its own, so it never meets a cluster of yours or another run.
// The cluster runs secured (deploy/docker-compose.secure.yml: mutual TLS
// between nodes, encrypted gossip, TLS and an admin token for every request
// of the suite), so every fault is also one of the secured transport.
// The nodes run exactly as deployed, but with a 5 s anti-entropy interval
// (DYNKV_ANTI_ENTROPY_INTERVAL) so that convergence is measured in seconds.
// Then, one scenario at a time, each with a key prefix of its own:
//
//   - partition: two nodes are cut off the cluster network (docker network
//     disconnect) for 20 s and reconnected; meanwhile one key is written on
//     both sides of the cut, and must end up with both values as siblings;
//   - kill: kill -9 of a node that stays down until it is declared failed,
//     then of another restarted at once (docker kill -s KILL, docker start);
//   - rolling restart: docker restart of every node in turn, each back and
//     healthy before the next; a load through the published ports and a
//     second one addressing the nodes on the cluster network must both see
//     no failed request at all (see below);
//   - wiped volume: a node's container and volume are deleted and the node
//     recreated empty, to be refilled by anti-entropy;
//   - join: a sixth node (testdata/extra-node.yml) joins and takes its
//     share of partitions by handoff;
//   - leave: a node leaves (POST /cluster/leave), hands everything off, and
//     is stopped.
//
// Each scenario runs the load generator of `dynkv loadtest --verify`
// (package loadtest, through the Go SDK with failover over every node)
// from the host while the fault happens. When the load and the fault are
// over, it waits until every replica of every key the scenario wrote holds
// the same state (GET /admin/local on each replica of the key's preference
// list), no node holds a hint or a handoff, and every node sees every
// member alive — and fails if that takes longer than the documented bound.
// Only then does it verify that every acknowledged write is still there:
// a read with R=2 right after a fault can legitimately miss a write that
// only a stand-in or the third replica held, which is a question of
// convergence, not of loss. Each scenario prints its figures: operations,
// errors by kind, siblings, acknowledged writes present, superseded and
// lost, and the time to converge. At the end every scenario's writes are
// verified again, and every key of the run checked on every replica, on
// the final membership.
//
// # Ports and the userland proxy
//
// Docker publishes a port on 127.0.0.1 through docker-proxy, which accepts
// a connection before it knows whether the container will: while a node
// restarts, a request sent through the proxy is taken and then the
// connection reset, which for a write looks exactly like a node that died
// holding it. Two things keep the rolling restart free of failed requests
// anyway. A stopping node keeps its listener open for a drain period,
// answering 503 shutting_down (provably not applied, so the SDK retries
// elsewhere); and the SDK sends nothing to an endpoint that failed until a
// readiness probe (GET /healthz) to it succeeds, so no write meets the
// proxy with nothing behind it. The rolling restart runs one load through
// the published ports and one on the cluster network, where a closed
// listener refuses connections outright: both must see zero failures.
//
// # The image alone
//
// TestSingleNodeImage (make docker-single; make chaos skips it) runs the
// image as its README line does, docker run -p 127.0.0.1:PORT:8080 with
// nothing else: a single node must answer a write and a read on the
// published port, turn healthy, announce itself in its first log line,
// warn that its API is open, and serve the same data from a new container
// on the same volume.
//
// # Clean-up
//
// Containers, networks and volumes are removed at the end, whether the
// tests pass or fail (docker-compose down -v, then anything still labelled
// with the project), also on Ctrl-C; a run also removes what an earlier run
// killed outright left behind. With CI=true a missing Docker, Compose or
// image is a failure, not a skip.
package chaos
