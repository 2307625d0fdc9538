using System.Reflection;
using System.Runtime.InteropServices;

namespace LoadPipe.Core.Stages;

/// <summary>
/// Which zstd implementation the stages use: native libzstd when it loads, else ZstdSharp, the managed port, which
/// costs more CPU (issue 2, row 2). Native comes through ZstdNet, a maintained NuGet binding that ships libzstd 1.5.7
/// for linux, windows and macOS on x64 and arm64, so no binding of our own is needed; where its copy does not load
/// (another libc), the system's libzstd.so.1 is tried.
/// Every implementation writes standard zstd frames, so each decodes what the others wrote.
/// </summary>
internal static class ZstdLibrary
{
    /// <summary>Set to 1 to use the managed port even where native libzstd loads (to compare them).</summary>
    public const string ManagedVariable = "LP_ZSTD_MANAGED";

    private static readonly Lazy<bool> Native = new(Probe);

    public static bool IsNativeAvailable => Native.Value;

    private static bool Probe()
    {
        if (Environment.GetEnvironmentVariable(ManagedVariable) == "1") return false;
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(ZstdNet.Compressor).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // A resolver is already set for that assembly (by the host): use whatever it loads.
        }
        try
        {
            using var compressor = new ZstdNet.Compressor(new ZstdNet.CompressionOptions(1));
            Span<byte> frame = stackalloc byte[64];
            return compressor.Wrap("zstd"u8, frame) > 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or TypeInitializationException)
        {
            return false;
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != "libzstd") return IntPtr.Zero;
        if (NativeLibrary.TryLoad(name, assembly, searchPath, out var handle)) return handle;
        return OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libzstd.so.1", out handle) ? handle : IntPtr.Zero;
    }
}
