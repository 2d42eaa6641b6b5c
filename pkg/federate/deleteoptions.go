package federate

import (
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/fedplane/fedplane/api/contract"
)

// deleteOptions reads the kubefed.io/deleteoption annotation. A dry run is refused: the copy
// would never be deleted, and the federated object would wait for it forever.
func deleteOptions(fed *unstructured.Unstructured) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	raw, ok := fed.GetAnnotations()[contract.DeleteOptionAnnotation]
	if !ok || raw == "" {
		return opts, nil
	}
	if err := json.Unmarshal([]byte(raw), opts); err != nil {
		return nil, reconcile.TerminalError(fmt.Errorf("annotation %s is not valid DeleteOptions JSON: %w", contract.DeleteOptionAnnotation, err))
	}
	if len(opts.DryRun) > 0 {
		return nil, reconcile.TerminalError(fmt.Errorf("annotation %s: dryRun is not supported: a dry-run delete never removes the member object", contract.DeleteOptionAnnotation))
	}
	return opts, nil
}

// userPreconditions tells whether the kubefed.io/deleteoption annotation sets a
// resourceVersion precondition, the one the member's API server checks that fedplane does
// not.
func userPreconditions(fed *unstructured.Unstructured) bool {
	opts, err := deleteOptions(fed)
	return err == nil && opts.Preconditions != nil && opts.Preconditions.ResourceVersion != nil
}

// memberDeleteOptions are the options of the DELETE of a member object: those of the
// kubefed.io/deleteoption annotation, with a UID precondition on the object that was read, so
// that an object that replaced it is never deleted. A UID the annotation sets must be that
// one. controller-runtime builds the request's options from its typed fields and overwrites
// the raw ones with them, so every field the annotation sets is given in both.
func memberDeleteOptions(fed, existing *unstructured.Unstructured) (*client.DeleteOptions, error) {
	raw, err := deleteOptions(fed)
	if err != nil {
		return nil, err
	}
	uid := existing.GetUID()
	if raw.Preconditions == nil {
		raw.Preconditions = &metav1.Preconditions{}
	}
	if p := raw.Preconditions.UID; p != nil && *p != uid {
		return nil, fmt.Errorf("annotation %s: preconditions.uid %s is not the UID of the member object (%s)", contract.DeleteOptionAnnotation, *p, uid)
	}
	raw.Preconditions.UID = &uid
	return &client.DeleteOptions{
		GracePeriodSeconds: raw.GracePeriodSeconds,
		Preconditions:      raw.Preconditions,
		PropagationPolicy:  raw.PropagationPolicy,
		Raw:                raw,
	}, nil
}
