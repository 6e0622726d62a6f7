// Package nodedemo runs the node agent's demo and benchmark against a
// cluster: it builds the module store and the agent, starts the agent as
// a separate process (so stopping it is a real SIGTERM), and walks pods
// through their lives. The mage targets demo:nodeAgent and bench:nodeAgent
// are thin wrappers over Demo and Bench.
package nodedemo
