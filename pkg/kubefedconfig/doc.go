// Package kubefedconfig holds the control plane's settings object (KubeFedConfig "kubefed"):
// KubeFed's defaults, creating the object with them when it is missing, and the one reader of
// the settings that the controllers use while they run (Read, SettingsOf), with their defaults.
package kubefedconfig
