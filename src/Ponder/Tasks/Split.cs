namespace Ponder.Tasks;

/// <summary>Which side of a task's deterministic train/test partition a problem comes from.</summary>
public enum Split
{
    Train,
    Test,
}
