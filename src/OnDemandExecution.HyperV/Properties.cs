using System.Runtime.Versioning;

// The Host Compute Service and Hyper-V sockets exist on Windows only: callers on other platforms get CA1416.
[assembly: SupportedOSPlatform("windows")]
