using System.Globalization;

namespace OnDemandExecution.HyperV.Hcs;

/// <summary>
/// The HRESULTs the Host Compute Service returns, with their names, from Microsoft's HCS reference ("HCS HRESULT",
/// virtualization/api/hcs/Reference/HCSHResult.md in MicrosoftDocs/Virtualization-Documentation) and winerror.h.
/// </summary>
internal static class HcsErrors
{
    public const int S_OK = 0;
    public const int E_ACCESSDENIED = unchecked((int)0x80070005);
    public const int E_INVALIDARG = unchecked((int)0x80070057);
    public const int E_OUTOFMEMORY = unchecked((int)0x8007000E);
    public const int HCS_E_TERMINATED_DURING_START = unchecked((int)0x80370100);
    public const int HCS_E_IMAGE_MISMATCH = unchecked((int)0x80370101);
    public const int HCS_E_HYPERV_NOT_INSTALLED = unchecked((int)0x80370102);
    public const int HCS_E_INVALID_STATE = unchecked((int)0x80370105);
    public const int HCS_E_UNEXPECTED_EXIT = unchecked((int)0x80370106);
    public const int HCS_E_TERMINATED = unchecked((int)0x80370107);
    public const int HCS_E_CONNECT_FAILED = unchecked((int)0x80370108);
    public const int HCS_E_CONNECTION_TIMEOUT = unchecked((int)0x80370109);
    public const int HCS_E_CONNECTION_CLOSED = unchecked((int)0x8037010A);
    public const int HCS_E_UNKNOWN_MESSAGE = unchecked((int)0x8037010B);
    public const int HCS_E_UNSUPPORTED_PROTOCOL_VERSION = unchecked((int)0x8037010C);
    public const int HCS_E_INVALID_JSON = unchecked((int)0x8037010D);
    public const int HCS_E_SYSTEM_NOT_FOUND = unchecked((int)0x8037010E);
    public const int HCS_E_SYSTEM_ALREADY_EXISTS = unchecked((int)0x8037010F);
    public const int HCS_E_SYSTEM_ALREADY_STOPPED = unchecked((int)0x80370110);
    public const int HCS_E_PROTOCOL_ERROR = unchecked((int)0x80370111);
    public const int HCS_E_SERVICE_NOT_AVAILABLE = unchecked((int)0x80370114);
    public const int HCS_E_OPERATION_NOT_STARTED = unchecked((int)0x80370115);
    public const int HCS_E_OPERATION_ALREADY_STARTED = unchecked((int)0x80370116);
    public const int HCS_E_OPERATION_PENDING = unchecked((int)0x80370117);
    public const int HCS_E_OPERATION_TIMEOUT = unchecked((int)0x80370118);
    public const int HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET = unchecked((int)0x80370119);
    public const int HCS_E_ACCESS_DENIED = unchecked((int)0x8037011B);
    public const int HCS_E_GUEST_CRITICAL_ERROR = unchecked((int)0x8037011C);
    public const int HCS_E_SERVICE_DISCONNECT = unchecked((int)0x8037011E);

    /// <summary>Whether <paramref name="hresult"/> says the compute system is gone (exited, terminated, unknown to HCS): the instance is dead.</summary>
    public static bool MeansSystemGone(int hresult) => hresult is HCS_E_SYSTEM_NOT_FOUND or HCS_E_SYSTEM_ALREADY_STOPPED
        or HCS_E_UNEXPECTED_EXIT or HCS_E_TERMINATED or HCS_E_TERMINATED_DURING_START or HCS_E_GUEST_CRITICAL_ERROR
        or HCS_E_SERVICE_DISCONNECT or HCS_E_CONNECTION_CLOSED;

    /// <summary>The symbolic name and hex value, for messages: <c>HCS_E_ACCESS_DENIED (0x8037011B)</c>.</summary>
    public static string Describe(int hresult)
    {
        var hex = "0x" + hresult.ToString("X8", CultureInfo.InvariantCulture);
        return Name(hresult) is { } name ? $"{name} ({hex})" : hex;
    }

    /// <summary>What a user can do about <paramref name="hresult"/>, or null when there is nothing specific to say.</summary>
    public static string? Hint(int hresult) => hresult switch
    {
        HCS_E_ACCESS_DENIED or E_ACCESSDENIED => "Run the host as an administrator or as a member of the Hyper-V Administrators group.",
        HCS_E_HYPERV_NOT_INSTALLED or HCS_E_SERVICE_NOT_AVAILABLE => "Enable the Hyper-V feature (Microsoft-Hyper-V and the Host Compute Service) and reboot.",
        HCS_E_INVALID_JSON => "HCS rejected the compute-system document; check the image paths in HyperVProviderOptions and that this Windows build supports schema 2.1.",
        HCS_E_SYSTEM_ALREADY_EXISTS => "A compute system with this id already exists (a previous host process may have left it running).",
        _ => null,
    };

    private static string? Name(int hresult) => hresult switch
    {
        S_OK => "S_OK",
        E_ACCESSDENIED => "E_ACCESSDENIED",
        E_INVALIDARG => "E_INVALIDARG",
        E_OUTOFMEMORY => "E_OUTOFMEMORY",
        HCS_E_TERMINATED_DURING_START => "HCS_E_TERMINATED_DURING_START",
        HCS_E_IMAGE_MISMATCH => "HCS_E_IMAGE_MISMATCH",
        HCS_E_HYPERV_NOT_INSTALLED => "HCS_E_HYPERV_NOT_INSTALLED",
        HCS_E_INVALID_STATE => "HCS_E_INVALID_STATE",
        HCS_E_UNEXPECTED_EXIT => "HCS_E_UNEXPECTED_EXIT",
        HCS_E_TERMINATED => "HCS_E_TERMINATED",
        HCS_E_CONNECT_FAILED => "HCS_E_CONNECT_FAILED",
        HCS_E_CONNECTION_TIMEOUT => "HCS_E_CONNECTION_TIMEOUT",
        HCS_E_CONNECTION_CLOSED => "HCS_E_CONNECTION_CLOSED",
        HCS_E_UNKNOWN_MESSAGE => "HCS_E_UNKNOWN_MESSAGE",
        HCS_E_UNSUPPORTED_PROTOCOL_VERSION => "HCS_E_UNSUPPORTED_PROTOCOL_VERSION",
        HCS_E_INVALID_JSON => "HCS_E_INVALID_JSON",
        HCS_E_SYSTEM_NOT_FOUND => "HCS_E_SYSTEM_NOT_FOUND",
        HCS_E_SYSTEM_ALREADY_EXISTS => "HCS_E_SYSTEM_ALREADY_EXISTS",
        HCS_E_SYSTEM_ALREADY_STOPPED => "HCS_E_SYSTEM_ALREADY_STOPPED",
        HCS_E_PROTOCOL_ERROR => "HCS_E_PROTOCOL_ERROR",
        HCS_E_SERVICE_NOT_AVAILABLE => "HCS_E_SERVICE_NOT_AVAILABLE",
        HCS_E_OPERATION_NOT_STARTED => "HCS_E_OPERATION_NOT_STARTED",
        HCS_E_OPERATION_ALREADY_STARTED => "HCS_E_OPERATION_ALREADY_STARTED",
        HCS_E_OPERATION_PENDING => "HCS_E_OPERATION_PENDING",
        HCS_E_OPERATION_TIMEOUT => "HCS_E_OPERATION_TIMEOUT",
        HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET => "HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET",
        HCS_E_ACCESS_DENIED => "HCS_E_ACCESS_DENIED",
        HCS_E_GUEST_CRITICAL_ERROR => "HCS_E_GUEST_CRITICAL_ERROR",
        HCS_E_SERVICE_DISCONNECT => "HCS_E_SERVICE_DISCONNECT",
        _ => null,
    };
}
