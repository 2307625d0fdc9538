using LoadPipe.Core.Buffers;

namespace LoadPipe.Core.Tests.Buffers;

public sealed class ChunkPoolTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3 << 20, 4 << 20)]
    [InlineData(8 << 20, 8 << 20)]
    public void Rent_AnySize_AtLeastThatLongAndAPowerOfTwoFromTwoMiB(int asked, int atLeast)
    {
        var buffer = ChunkPool.Rent(asked);

        Assert.True(buffer.Length >= atLeast, $"{buffer.Length} bytes for {asked}");
        if (asked >= 2 << 20) Assert.Equal(atLeast, buffer.Length);
        ChunkPool.Return(buffer);
    }

    [Fact]
    public void Rent_AfterReturn_GivesTheSameBufferBackWithItsBytes()
    {
        const int size = 16 << 20;   // a size nothing else in the tests rents
        var first = ChunkPool.Rent(size);
        first.AsSpan().Fill(0xA5);
        ChunkPool.Return(first);

        var second = ChunkPool.Rent(size);

        Assert.Same(first, second);
        Assert.Equal(0xA5, second[size - 1]);
        ChunkPool.Return(second);
    }

    [Fact]
    public void Rent_Large_WholeBufferIsWritableAndReadable()
    {
        var buffer = ChunkPool.Rent(6 << 20);
        for (var i = 0; i < buffer.Length; i += 4096) buffer[i] = (byte)(i >> 12);

        for (var i = 0; i < buffer.Length; i += 4096) Assert.Equal((byte)(i >> 12), buffer[i]);
        ChunkPool.Return(buffer);
    }
}
