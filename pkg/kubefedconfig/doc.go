// Package kubefedconfig holds the control plane's settings object (KubeFedConfig "kubefed"):
// KubeFed's defaults, and creating the object with them when it is missing.
package kubefedconfig
