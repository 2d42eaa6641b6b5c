package cluster

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

func TestAStatusWriteThatConflictsIsNoError(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := corev1beta1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	key := types.NamespacedName{Namespace: corev1beta1.DefaultNamespace, Name: "cce"}
	kfc := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	var log bytes.Buffer
	ctx, cancel := context.WithCancel(ctrl.LoggerInto(context.Background(),
		funcr.New(func(prefix, args string) { log.WriteString(prefix + " " + args + "\n") }, funcr.Options{Verbosity: 1})))
	defer cancel()
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(kfc).WithStatusSubresource(kfc).
		WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: func(_ context.Context, _ client.Client, _ string, obj client.Object, _ client.Patch, _ ...client.SubResourcePatchOption) error {
			// One probe is enough: the loop ends after this write.
			cancel()
			return apierrors.NewConflict(schema.GroupResource{Resource: "kubefedclusters"}, obj.GetName(), errors.New("the object has been modified"))
		}}).Build()
	r := &HealthReconciler{Client: c, Namespace: key.Namespace, Now: time.Now}
	// A registration whose configuration is malformed is probed without a request.
	reg := kfc.DeepCopy()
	r.run(ctx, reg, nil, nil, Probe{Outcome: Malformed, Detail: "no secret"}, kubefedconfig.SettingsOf(nil).HealthCheck)
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	logged := false
	for _, l := range lines {
		if !strings.Contains(l, `"level"=`) {
			t.Errorf("log line %q is at error level; want a conflict logged at V(1)", l)
		}
		logged = logged || strings.Contains(l, `"level"=1`) && strings.Contains(l, `"write"="write the cluster's status"`)
	}
	if !logged {
		t.Errorf("log = %q, want a V(1) line naming the write", log.String())
	}
}
