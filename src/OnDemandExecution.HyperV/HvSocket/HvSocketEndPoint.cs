using System.Net;
using System.Net.Sockets;

namespace OnDemandExecution.HyperV.HvSocket;

/// <summary>
/// A Hyper-V socket address, <c>SOCKADDR_HV</c> (hvsocket.h): family AF_HYPERV (34), a reserved ushort, the VM id and
/// the service id as GUIDs (36 bytes). The layout follows microsoft/go-winio hvsock.go (<c>rawHvsockAddr</c>).
/// </summary>
internal sealed class HvSocketEndPoint : EndPoint
{
    /// <summary><c>AF_HYPERV</c>.</summary>
    public const AddressFamily HyperV = (AddressFamily)34;

    /// <summary><c>HV_PROTOCOL_RAW</c>.</summary>
    public const ProtocolType RawProtocol = (ProtocolType)1;

    /// <summary>
    /// The template of the service ids Hyper-V maps to AF_VSOCK ports in Linux guests: the port is the first field
    /// (go-winio <c>VsockServiceID</c>: <c>XXXXXXXX-FACB-11E6-BD58-64006A7986D3</c>).
    /// </summary>
    public static readonly Guid VsockTemplate = new("00000000-facb-11e6-bd58-64006a7986d3");

    private const int Size = 36;

    public HvSocketEndPoint(Guid vmId, Guid serviceId)
    {
        VmId = vmId;
        ServiceId = serviceId;
    }

    public Guid VmId { get; }

    public Guid ServiceId { get; }

    public override AddressFamily AddressFamily => HyperV;

    /// <summary>The service id a Linux guest's AF_VSOCK listener on <paramref name="port"/> is reached at.</summary>
    public static Guid VsockServiceId(uint port)
    {
        Span<byte> bytes = stackalloc byte[16];
        VsockTemplate.TryWriteBytes(bytes);
        // Guid's byte layout is the GUID struct's: Data1 is the first four bytes, little-endian
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes, port);
        return new Guid(bytes);
    }

    /// <summary>The 36 bytes of the <c>SOCKADDR_HV</c>: family (little-endian ushort), reserved, VM id, service id.</summary>
    public static byte[] Encode(Guid vmId, Guid serviceId)
    {
        var bytes = new byte[Size];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)HyperV);
        vmId.TryWriteBytes(bytes.AsSpan(4, 16));
        serviceId.TryWriteBytes(bytes.AsSpan(20, 16));
        return bytes;
    }

    public override SocketAddress Serialize()
    {
        // the SocketAddress constructor writes the family in the platform's layout (and refuses AF_HYPERV off Windows)
        var address = new SocketAddress(HyperV, Size);
        var bytes = Encode(VmId, ServiceId);
        for (var i = 2; i < Size; i++)
        {
            address[i] = bytes[i];
        }

        return address;
    }

    public override EndPoint Create(SocketAddress socketAddress)
    {
        ArgumentNullException.ThrowIfNull(socketAddress);
        if (socketAddress.Family != HyperV || socketAddress.Size < Size)
        {
            throw new ArgumentException($"Not a Hyper-V socket address (family {socketAddress.Family}, {socketAddress.Size} bytes).", nameof(socketAddress));
        }

        Span<byte> bytes = stackalloc byte[32];
        for (var i = 0; i < 32; i++)
        {
            bytes[i] = socketAddress[4 + i];
        }

        return new HvSocketEndPoint(new Guid(bytes[..16]), new Guid(bytes[16..]));
    }

    public override string ToString() => $"hvsock:{VmId}:{ServiceId}";
}
