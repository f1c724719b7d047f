using System.Text;

namespace OnDemandExecution.Kvm.Tests.Integration;

/// <summary>Standby clones: QEMU launched ahead for the template, completed by the next restore (real guests, TCG here).</summary>
[Collection(KvmGuests.Name)]
[Trait("Category", "Integration")]
public class KvmStandbyTests(KvmFixture fixture)
{
    private static readonly TenantId Tenant = new("acme");

    [Fact]
    public async Task A_restore_completes_the_standby_launched_after_the_previous_one_and_a_new_standby_follows()
    {
        var options = fixture.Options();
        options.StandbyClones = 1;
        var provider = new KvmInstanceProvider(Microsoft.Extensions.Options.Options.Create(options));
        int[] standbys;
        await using (provider)
        {
            // the fixture's template exists: this is a restore into a QEMU of its own, which launches the first standby
            await using var first = await provider.CreateGuestAsync(new InstanceSpec(), default);
            Assert.Empty(provider.StandbyProcessIds().Intersect([first.ProcessId]));
            await WaitUntilAsync(() => provider.StandbyCount == 1, "a standby is launched");
            var standby = Assert.Single(provider.StandbyProcessIds());
            Assert.Equal(1, provider.LiveInstanceCount); // a standby is not a live instance

            await using var second = await provider.CreateGuestAsync(new InstanceSpec(), default);

            Assert.Equal(standby, second.ProcessId);
            await second.LoadAsync(new FunctionDefinition("echo", new ProgramFunctionCode("cat")), Tenant, default);
            var output = await second.InvokeAsync(new InvocationRequest("echo", "from the standby"u8.ToArray(), Tenant), default);
            Assert.Equal("from the standby", Encoding.UTF8.GetString(output.Span));
            Assert.NotNull(second.LastSeed);
            Assert.NotEqual(first.LastSeed, second.LastSeed); // reseeded on completion, like every clone
            await WaitUntilAsync(() => provider.StandbyCount == 1, "the next standby is launched");
            standbys = provider.StandbyProcessIds();
            Assert.DoesNotContain(standby, standbys);
        }

        // disposing the provider kills its standbys too
        Assert.All(standbys, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"standby QEMU {pid} is gone"));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 6000 && !condition(); i++)
        {
            await Task.Delay(20);
        }

        Assert.True(condition(), "never happened: " + what);
    }
}
