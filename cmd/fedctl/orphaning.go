package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/fedplane/fedplane/api/contract"
)

// The orphaning annotation of federated objects: with "true", deleting the object leaves its
// copies in the member clusters instead of removing them.
const (
	orphanAnnotation = contract.OrphanAnnotation
	orphanEnabled    = "true"
)

// What orphaning status prints.
const (
	orphaningEnabled  = "Enabled"
	orphaningDisabled = "Disabled"
)

type orphaningOptions struct {
	hostFlags
	namespace string
	timeout   time.Duration
}

func newOrphaningCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use: "orphaning",
		// kubefedctl's name for the command, so that its users' scripts keep working.
		Aliases: []string{"orphaning-deletion"},
		Short:   "Keep, or stop keeping, a federated object's copies in the members when it is deleted",
		Long: `Manage the annotation kubefed.io/orphan of a federated object. When it is "true", deleting
the federated object leaves the objects it propagated in the member clusters (they are no longer
managed); otherwise they are deleted from the members first.

TYPE names the federated type (federateddeployments, FederatedDeployment) or its target type
(deployments.apps, deployments); NAME is the federated object, in the namespace -n (the context's
by default; a FederatedNamespace's is NAME itself). Only the annotation is changed, with a merge
patch.

fedctl orphaning-deletion is the same command, under kubefedctl's name, with the same
subcommands and arguments.`,
		Example: `  fedctl orphaning enable deployments.apps web -n shop
  fedctl orphaning status federateddeployments web -n shop
  fedctl orphaning disable deployments.apps web -n shop`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newOrphaningSubcommand("enable", "Keep the member copies when the federated object is deleted",
			`Set the annotation kubefed.io/orphan: "true" on the federated object NAME, so that deleting it leaves
its copies in the member clusters. Running it again changes nothing.`,
			`  fedctl orphaning enable deployments.apps web -n shop`,
			func(ctx context.Context, t federatedRef, out io.Writer) error {
				return t.setOrphaning(ctx, orphanEnabled, out)
			}),
		newOrphaningSubcommand("disable", "Delete the member copies with the federated object (the default)",
			`Remove the annotation kubefed.io/orphan from the federated object NAME, so that deleting it deletes its
copies from the member clusters first. Running it again changes nothing.`,
			`  fedctl orphaning disable deployments.apps web -n shop`,
			func(ctx context.Context, t federatedRef, out io.Writer) error {
				return t.setOrphaning(ctx, "", out)
			}),
		newOrphaningSubcommand("status", "Print Enabled or Disabled",
			`Print Enabled when the federated object NAME has kubefed.io/orphan: "true", Disabled otherwise.`,
			`  fedctl orphaning status federateddeployments web -n shop`,
			func(ctx context.Context, t federatedRef, out io.Writer) error {
				u, err := t.rc.Get(ctx, t.name, metav1.GetOptions{})
				if err != nil {
					return t.error(err)
				}
				status := orphaningDisabled
				if u.GetAnnotations()[orphanAnnotation] == orphanEnabled {
					status = orphaningEnabled
				}
				_, err = fmt.Fprintln(out, status)
				return err
			}),
	)
	return cmd
}

// federatedRef is a federated object of the host: the client of its resource, its name, and
// how messages name it.
type federatedRef struct {
	rc   dynamic.ResourceInterface
	name string
	ref  string
}

// orphaningAction acts on a federated object.
type orphaningAction func(ctx context.Context, t federatedRef, out io.Writer) error

func newOrphaningSubcommand(use, short, long, example string, action orphaningAction) *cobra.Command {
	o := &orphaningOptions{}
	cmd := &cobra.Command{
		Use:     use + " TYPE NAME [-n NAMESPACE]",
		Short:   short,
		Long:    long,
		Example: example,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			t, err := o.federatedObject(ctx, args[0], args[1], cmd.Flags().Changed("namespace"))
			if err != nil {
				return err
			}
			return action(ctx, t, cmd.OutOrStdout())
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "", "namespace of the federated object; empty means the context's (NAME for a FederatedNamespace)")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for the host")
	return cmd
}

// federatedObject resolves TYPE to a federated type through the FederatedTypeConfigs, and
// returns the federated object NAME.
func (o *orphaningOptions) federatedObject(ctx context.Context, typeArg, name string, namespaceSet bool) (federatedRef, error) {
	h, err := o.connect()
	if err != nil {
		return federatedRef{}, err
	}
	r, err := h.resolve(typeArg)
	if err != nil {
		return federatedRef{}, err
	}
	ftcs, err := h.typeConfigs(ctx)
	if err != nil {
		return federatedRef{}, err
	}
	ftc, ok := typeConfigOf(ftcs, r)
	if !ok {
		return federatedRef{}, fmt.Errorf("TYPE %s is neither a federated type nor the target of a FederatedTypeConfig in %s", groupQualifiedName(r.Name, r.Group), h.namespace)
	}
	namespace := h.objectNamespace(ftc, name, o.namespace, namespaceSet)
	return federatedRef{
		rc:   h.resource(federatedResource(ftc), namespace != "", namespace),
		name: name,
		ref:  objectRef(ftc.Spec.FederatedType.Kind, namespace, name),
	}, nil
}

// setOrphaning sets the orphaning annotation to value, or removes it when value is empty, with
// a merge patch that touches nothing else.
func (t federatedRef) setOrphaning(ctx context.Context, value string, out io.Writer) error {
	var v any
	if value != "" {
		v = value
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{orphanAnnotation: v}}})
	if err != nil {
		return err
	}
	if _, err := t.rc.Patch(ctx, t.name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager}); err != nil {
		return t.error(err)
	}
	if value != "" {
		fmt.Fprintf(out, "%s: orphaning enabled; deleting it leaves its copies in the member clusters\n", t.ref)
	} else {
		fmt.Fprintf(out, "%s: orphaning disabled; deleting it deletes its copies from the member clusters\n", t.ref)
	}
	return nil
}

// error says which federated object could not be read or changed.
func (t federatedRef) error(err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s not found in the host", t.ref)
	}
	return fmt.Errorf("%s: %w", t.ref, err)
}
