using System.Net.Sockets;
using OnDemandExecution.HyperV.HvSocket;

namespace OnDemandExecution.HyperV.Tests;

public class HvSocketEndPointTests
{
    [Theory]
    [InlineData(5100u, "000013ec-facb-11e6-bd58-64006a7986d3")]
    [InlineData(0x40000000u, "40000000-facb-11e6-bd58-64006a7986d3")]
    public void VsockServiceId_PutsThePortInTheFirstField(uint port, string expected)
        => Assert.Equal(Guid.Parse(expected), HvSocketEndPoint.VsockServiceId(port));

    [Fact]
    public void Encode_IsSockaddrHv_FamilyReservedVmIdServiceId()
    {
        var vm = Guid.Parse("6f1c0a52-3b4e-4f7a-9d2c-1e5b7a9c0d11");
        var service = HvSocketEndPoint.VsockServiceId(5100);

        var bytes = HvSocketEndPoint.Encode(vm, service);

        Assert.Equal(36, bytes.Length);
        Assert.Equal(new byte[] { 34, 0, 0, 0 }, bytes[..4]);
        Assert.Equal(vm.ToByteArray(), bytes[4..20]);
        Assert.Equal(service.ToByteArray(), bytes[20..]);
        Assert.Equal(0x52, bytes[4]); // Data1 little-endian, as in the GUID struct
        Assert.Equal(new byte[] { 0xec, 0x13, 0, 0, 0xcb, 0xfa, 0xe6, 0x11 }, bytes[20..28]);
    }

    [Fact]
    public void SerializeAndCreate_RoundTrip_OnWindows()
    {
        if (!OperatingSystem.IsWindows())
        {
            return; // SocketAddress refuses AF_HYPERV off Windows
        }

        var vm = Guid.NewGuid();
        var service = HvSocketEndPoint.VsockServiceId(5100);
        var address = new HvSocketEndPoint(vm, service).Serialize();

        Assert.Equal((AddressFamily)34, address.Family);
        var back = (HvSocketEndPoint)new HvSocketEndPoint(Guid.Empty, Guid.Empty).Create(address);
        Assert.Equal((vm, service), (back.VmId, back.ServiceId));
    }
}
