using Ponder.Rewards;

namespace Ponder.Learning;

/// <summary>What a reward-model training run used and reached.</summary>
/// <param name="Labels">Header of the label set trained on (its cost included).</param>
/// <param name="LabelsReused">True when the labels came from an existing cache file.</param>
/// <param name="TrainSolutions">Labelled solutions trained on.</param>
/// <param name="ValidationSolutions">Labelled solutions held out.</param>
/// <param name="ValidationLoss">Binary cross-entropy on the held-out reads at the end.</param>
/// <param name="ValidationAuc">ROC AUC of held-out reads against their hard labels at the end.</param>
/// <param name="Seconds">Wall time of the run, labelling included.</param>
public sealed record RewardTrainResult(LabelHeader Labels, bool LabelsReused, int TrainSolutions, int ValidationSolutions,
    double ValidationLoss, double ValidationAuc, double Seconds);
