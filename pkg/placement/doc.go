// Package placement decides which registered member clusters a federated object is placed on,
// following KubeFed's placement rules, and explains the decision for every cluster. It is pure:
// callers read the object, its FederatedNamespace and the clusters, and pass them in.
package placement
