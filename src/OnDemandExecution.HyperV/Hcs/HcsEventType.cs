namespace OnDemandExecution.HyperV.Hcs;

/// <summary><c>HCS_EVENT_TYPE</c> (ComputeDefs.h; virtualization/api/hcs/Reference/HCS_EVENT_TYPE.md).</summary>
internal enum HcsEventType
{
    Invalid = 0x00000000,
    SystemExited = 0x00000001,
    SystemCrashInitiated = 0x00000002,
    SystemCrashReport = 0x00000003,
    SystemRdpEnhancedModeStateChanged = 0x00000004,
    SystemSiloJobCreated = 0x00000005,
    SystemGuestConnectionClosed = 0x00000006,
    ProcessExited = 0x00010000,
    OperationCallback = 0x01000000,
    ServiceDisconnect = 0x02000000,
}

/// <summary>Receives a compute system's events: the type and the event's JSON data (for <see cref="HcsEventType.SystemExited"/>, a <c>SystemExitStatus</c>).</summary>
/// <param name="type">The event.</param>
/// <param name="eventData">The event's JSON document, or null.</param>
internal delegate void HcsEventCallback(HcsEventType type, string? eventData);
