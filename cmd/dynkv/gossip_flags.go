package main

import "github.com/dynkv/dynkv/node"

// gossipFlags secure gossip: serf's keyring encrypts and authenticates it.
type gossipFlags struct{ keyringFile string }

func (g *gossipFlags) register(f *flags) {
	f.StringVar(&g.keyringFile, "gossip-key-file", "", "serf keyring `file` (JSON list of base64 AES keys, mode 0600): gossip is encrypted and authenticated; a node without the key cannot join")
	f.defaultText["gossip-key-file"] = "none: gossip in the clear (make one with dynkv keyring generate --file)"
}

func (g *gossipFlags) apply(c *node.Config) { c.GossipKeyringFile = g.keyringFile }
