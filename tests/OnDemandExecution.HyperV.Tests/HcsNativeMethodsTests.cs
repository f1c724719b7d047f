// Reading the layout of a Windows-only struct is fine anywhere; nothing native is called.
#pragma warning disable CA1416

using System.Reflection;
using System.Runtime.InteropServices;
using OnDemandExecution.HyperV.Hcs;

namespace OnDemandExecution.HyperV.Tests;

/// <summary>
/// What can be checked about the computecore.dll bindings without Windows: which functions are bound, from which
/// library, with how many parameters (as ComputeCore.h declares them), and that handles are SafeHandles.
/// </summary>
public class HcsNativeMethodsTests
{
    [Theory]
    [InlineData("HcsCreateOperation", 2)]
    [InlineData("HcsCloseOperation", 1)]
    [InlineData("HcsCreateComputeSystem", 5)]
    [InlineData("HcsStartComputeSystem", 3)]
    [InlineData("HcsShutDownComputeSystem", 3)]
    [InlineData("HcsTerminateComputeSystem", 3)]
    [InlineData("HcsPauseComputeSystem", 3)]
    [InlineData("HcsResumeComputeSystem", 3)]
    [InlineData("HcsSaveComputeSystem", 3)]
    [InlineData("HcsGetComputeSystemProperties", 3)]
    [InlineData("HcsWaitForOperationResult", 3)]
    [InlineData("HcsSetComputeSystemCallback", 4)]
    [InlineData("HcsCloseComputeSystem", 1)]
    public void EachHcsFunction_IsBoundFromComputeCore_WithItsHeaderArity(string name, int parameters)
    {
        var method = typeof(HcsNativeMethods).GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic)!;

        Assert.NotNull(method);
        var import = method.GetCustomAttribute<LibraryImportAttribute>();
        Assert.NotNull(import);
        Assert.Equal("computecore.dll", import.LibraryName);
        Assert.Equal(parameters, method.GetParameters().Length);
    }

    [Fact]
    public void OperationAndSystemHandles_AreSafeHandles_InAndOut()
    {
        var create = typeof(HcsNativeMethods).GetMethod("HcsCreateComputeSystem", BindingFlags.Static | BindingFlags.NonPublic)!;
        Assert.Equal(typeof(HcsOperationHandle), create.GetParameters()[2].ParameterType);
        Assert.Equal(typeof(HcsSystemHandle).MakeByRefType(), create.GetParameters()[4].ParameterType);
        Assert.True(create.GetParameters()[4].IsOut);
        Assert.Equal(typeof(HcsOperationHandle), typeof(HcsNativeMethods).GetMethod("HcsCreateOperation", BindingFlags.Static | BindingFlags.NonPublic)!.ReturnType);
        Assert.Equal(typeof(int), create.ReturnType); // HRESULT
    }

    [Fact]
    public void HcsEvent_HasTheLayoutOfComputeDefsH()
    {
        // typedef struct HCS_EVENT { HCS_EVENT_TYPE Type; PCWSTR EventData; HCS_OPERATION Operation; }
        Assert.Equal(IntPtr.Size == 8 ? 24 : 12, Marshal.SizeOf<HcsNativeMethods.HcsEvent>());
        Assert.Equal(IntPtr.Size, (int)Marshal.OffsetOf<HcsNativeMethods.HcsEvent>("EventData"));
    }

    [Fact]
    public void ClosingATestHandle_CallsItsCloser_ExactlyOnce()
    {
        var closed = 0;
        var handle = new HcsOperationHandle(7, _ => closed++);

        handle.Dispose();
        handle.Dispose();

        Assert.Equal(1, closed);
    }
}
