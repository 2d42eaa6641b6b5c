package framework

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// clusterPKI is the key material of one lab cluster: its own CA, the API server's serving
// certificate signed by it, and the service account signing key.
type clusterPKI struct {
	CACert, ServingCert, ServingKey, SAKey, SAPub string // file paths
}

// writePKI creates the key material of a cluster in dir, unless it is already there (a restarted
// lab keeps its certificates, so that kubeconfigs stay valid).
func writePKI(dir, clusterName string) (clusterPKI, error) {
	p := clusterPKI{
		CACert:      filepath.Join(dir, "ca.crt"),
		ServingCert: filepath.Join(dir, "apiserver.crt"),
		ServingKey:  filepath.Join(dir, "apiserver.key"),
		SAKey:       filepath.Join(dir, "sa.key"),
		SAPub:       filepath.Join(dir, "sa.pub"),
	}
	if fileExists(p.CACert) && fileExists(p.ServingCert) && fileExists(p.ServingKey) && fileExists(p.SAKey) && fileExists(p.SAPub) {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return p, fmt.Errorf("failed to create %s: %w", dir, err)
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, fmt.Errorf("failed to generate CA key: %w", err)
	}
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fedplane-lab-" + clusterName + "-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return p, fmt.Errorf("failed to create CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return p, fmt.Errorf("failed to parse CA certificate: %w", err)
	}
	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, fmt.Errorf("failed to generate serving key: %w", err)
	}
	servingTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	servingDER, err := x509.CreateCertificate(rand.Reader, servingTemplate, caCert, &servingKey.PublicKey, caKey)
	if err != nil {
		return p, fmt.Errorf("failed to create serving certificate: %w", err)
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, fmt.Errorf("failed to generate service account key: %w", err)
	}
	for path, block := range map[string]func() (*pem.Block, error){
		p.CACert:      func() (*pem.Block, error) { return &pem.Block{Type: "CERTIFICATE", Bytes: caDER}, nil },
		p.ServingCert: func() (*pem.Block, error) { return &pem.Block{Type: "CERTIFICATE", Bytes: servingDER}, nil },
		p.ServingKey:  func() (*pem.Block, error) { return ecKeyBlock(servingKey) },
		p.SAKey:       func() (*pem.Block, error) { return ecKeyBlock(saKey) },
		p.SAPub: func() (*pem.Block, error) {
			der, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
			return &pem.Block{Type: "PUBLIC KEY", Bytes: der}, err
		},
	} {
		b, err := block()
		if err != nil {
			return p, fmt.Errorf("failed to encode %s: %w", path, err)
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
			return p, fmt.Errorf("failed to write %s: %w", path, err)
		}
	}
	return p, nil
}

func ecKeyBlock(k *ecdsa.PrivateKey) (*pem.Block, error) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, err
	}
	return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
