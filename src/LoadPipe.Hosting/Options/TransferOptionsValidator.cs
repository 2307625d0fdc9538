using LoadPipe.Core.Transfers;
using Microsoft.Extensions.Options;

namespace LoadPipe.Hosting.Options;

/// <summary>Checks <see cref="TransferOptions"/> against its validation attributes; the code is generated at build time,
/// so it needs no reflection and runs the same in the native program.</summary>
[OptionsValidator]
public sealed partial class TransferOptionsValidator : IValidateOptions<TransferOptions>;
