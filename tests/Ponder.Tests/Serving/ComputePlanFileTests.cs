using Ponder.Search;
using Ponder.Serving;

namespace Ponder.Tests.Serving;

/// <summary>Compute-optimal effort plans read from a scaling run's validation rows.</summary>
public sealed class ComputePlanFileTests
{
    [Fact]
    public void Compute_plan_averages_validation_rows_per_arm_and_n_and_ignores_test_rows()
    {
        using var dir = new TempDirectory();
        string path = dir.File("scaling.csv");
        File.WriteAllText(path, """
            split,arm,strategy,n,seed,problems,correct,accuracy,flops_per_problem,tokens_per_problem,forward_per_generated,seconds
            test,beam,Beam,8,0,40,40,1.0000,9e9,9999.0,1.0,1.0
            validation,bon-majority,BestOfN,4,0,40,20,0.5000,1e5,100.0,1.0,1.0
            validation,bon-majority,BestOfN,4,1,40,22,0.5500,3e5,140.0,1.0,1.0
            validation,beam,Beam,8,0,40,32,0.8000,4e5,600.0,1.0,1.0

            """);

        var plan = ComputePlanFile.Read(path);

        Assert.Equal(2, plan.Count);
        var bon = plan.Single(e => e.Name == "bon-majority");
        Assert.Equal((StrategyKind.BestOfN, 4, 2e5, 120.0), (bon.Kind, bon.N, bon.Flops, bon.Tokens));
        Assert.Equal(0.525, bon.Accuracy, 9);
        Assert.Equal(0.8, new ComputeOptimal(plan).Pick(Budget.Tokens(1000)).Accuracy);
        Assert.Equal("bon-majority", new ComputeOptimal(plan).Pick(Budget.Tokens(500)).Name);
    }

    [Theory]
    [InlineData("a,b\n", "not a scaling.csv")]
    [InlineData("split,arm,strategy,n,seed,problems,correct,accuracy,flops_per_problem,tokens_per_problem\nvalidation,wide-beam,Beam,8,0,1,1,1,1,1\n", ":2: unknown arm 'wide-beam'")]
    [InlineData("split,arm,strategy,n,seed,problems,correct,accuracy,flops_per_problem,tokens_per_problem\nvalidation,beam,Beam,8,0,1,1,x,1,1\n", ":2: accuracy 'x' is not a number")]
    [InlineData("split,arm,strategy,n,seed,problems,correct,accuracy,flops_per_problem,tokens_per_problem\ntest,beam,Beam,8,0,1,1,1,1,1\n", "no validation rows")]
    [InlineData("split,arm,strategy,n,seed,problems,correct,accuracy,flops_per_problem,tokens_per_problem\nvalidation,beam,Beam,4,0,8,9,1.5,1,1\n", ":2: accuracy 1.5 is outside 0..1")]
    [InlineData("split,arm,strategy,n,seed,problems,correct,accuracy,flops_per_problem,tokens_per_problem\nvalidation,beam,Beam,-3,0,8,1,0.5,1,1\n", ":2: n -3 is not a whole number of samples from 1")]
    [InlineData("split,arm,strategy,n,seed,problems,correct,accuracy,flops_per_problem,tokens_per_problem\nvalidation,beam,Beam,4,0,8,1,0.5,-1,1\n", ":2: flops_per_problem -1 is not positive")]
    public void Bad_compute_plans_are_refused_naming_file_and_line(string csv, string message)
    {
        using var dir = new TempDirectory();
        string path = dir.File("scaling.csv");
        File.WriteAllText(path, csv);

        var e = Assert.Throws<InvalidDataException>(() => ComputePlanFile.Read(path));

        Assert.StartsWith(path, e.Message);
        Assert.Contains(message, e.Message);
    }
}
