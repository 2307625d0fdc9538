// Hand-written: the YouTube Data API v3 calls LoadPipe's sink makes, from Google's reference
// (https://developers.google.com/youtube/v3/docs/videos/insert, videos/list and channels/list) and the "Resumable Uploads" guide.
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoadPipe.Testing.Google.Drive;
using LoadPipe.Testing.Google.Uploads;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Testing.Google.YouTube;

internal sealed class YouTubeApi(YouTubeStore store, UploadSessions uploads, Func<Uri> baseUri)
{
    internal const string ChannelId = "UCfakeLoadPipeTestChannel0";

    /// <summary>GET youtube/v3/channels?part=...&amp;mine=true: the authorized user's channel. Google requires part and
    /// exactly one filter (mine, id, forHandle, forUsername, managedByMe); this fake has the one channel, so id= finds
    /// it by its id and the other filters find nothing.</summary>
    public async Task ChannelsAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var parts = query["part"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "required", "No filter selected. Expected one of: part");
            return;
        }
        string[] filters = ["mine", "id", "forHandle", "forUsername", "managedByMe"];
        var given = filters.Where(f => query.ContainsKey(f)).ToList();
        if (given.Count != 1)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "incompatibleParameters",
                "Incompatible parameters specified in the request: exactly one of mine, id, forHandle, forUsername, managedByMe.");
            return;
        }
        bool found = given[0] switch
        {
            "mine" => query["mine"].ToString() == "true",
            "id" => query["id"].ToString().Split(',').Contains(ChannelId),
            _ => false,
        };
        var items = new JsonArray();
        if (found)
        {
            var channel = new JsonObject { ["kind"] = "youtube#channel", ["etag"] = OAuth.OAuthAuthority.RandomId(27), ["id"] = ChannelId };
            if (parts.Contains("snippet"))
            {
                channel["snippet"] = new JsonObject { ["title"] = "LoadPipe Test", ["description"] = "" };
            }
            items.Add(channel);
        }
        await GoogleErrors.WriteJsonAsync(context, new JsonObject
        {
            ["kind"] = "youtube#channelListResponse",
            ["etag"] = OAuth.OAuthAuthority.RandomId(27),
            ["pageInfo"] = new JsonObject { ["totalResults"] = items.Count, ["resultsPerPage"] = 5 },
            ["items"] = items,
        }, 200);
    }

    /// <summary>POST upload/youtube/v3/videos?uploadType=resumable&amp;part=snippet,status with the video resource as JSON; 200 with Location.</summary>
    public async Task StartUploadAsync(HttpContext context)
    {
        var query = context.Request.Query;
        if (query["uploadType"].ToString() != "resumable")
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "badRequest", "This server supports uploadType=resumable only.");
            return;
        }
        string part = query["part"].ToString();
        if (part.Length == 0)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "required", "No filter selected. Expected one of: part");
            return;
        }
        if (store.QuotaExceeded)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 403, "quotaExceeded", "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.");
            return;
        }
        if (store.UploadLimitExceeded)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 403, "uploadLimitExceeded", "The user has exceeded the number of videos they may upload.");
            return;
        }
        JsonObject body;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
        {
            var text = await reader.ReadToEndAsync(context.RequestAborted);
            try
            {
                body = string.IsNullOrWhiteSpace(text) ? [] : JsonNode.Parse(text) as JsonObject ?? throw new JsonException();
            }
            catch (JsonException)
            {
                await GoogleErrors.WriteApiErrorAsync(context, 400, "parseError", "Parse Error");
                return;
            }
        }
        var snippet = body["snippet"] as JsonObject;
        string title = (string?)snippet?["title"] ?? "";
        if (title.Length == 0 || title.Length > 100 || title.Contains('<') || title.Contains('>'))
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "invalidTitle", "The request metadata specifies an invalid or empty video title.");
            return;
        }
        string? description = (string?)snippet?["description"];
        var tags = snippet?["tags"] is JsonArray t ? t.Select(x => (string?)x ?? "").ToList() : [];
        string? categoryId = (string?)snippet?["categoryId"];
        string privacy = (string?)body["status"]?["privacyStatus"] ?? "public";
        if (privacy is not ("public" or "private" or "unlisted"))
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "invalidVideoMetadata", "The request metadata is invalid.");
            return;
        }
        long? total = long.TryParse(context.Request.Headers["X-Upload-Content-Length"].ToString(), out var length) ? length : null;
        var session = uploads.Create("youtube", title, total, (_, blob, size, md5) =>
            ToJson(store.Add(title, description, tags, categoryId, privacy, blob, size, md5), ["snippet", "status"]));
        context.Response.Headers.Location = new Uri(baseUri(),
            $"upload/youtube/v3/videos?uploadType=resumable&part={Uri.EscapeDataString(part)}&upload_id={session.Id}").ToString();
        context.Response.StatusCode = 200;
        context.Response.ContentLength = 0;
    }

    /// <summary>GET youtube/v3/videos?part=...&amp;id=A,B: the videos among those ids that exist (no id: all of the channel's).</summary>
    public async Task ListAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var parts = query["part"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "required", "No filter selected. Expected one of: part");
            return;
        }
        IEnumerable<YouTubeVideo> videos;
        string ids = query["id"].ToString();
        if (ids.Length > 0)
        {
            videos = ids.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(store.Get).OfType<YouTubeVideo>();
        }
        else
        {
            videos = store.Videos;
        }
        var items = videos.Select(v => (JsonNode)ToJson(v, parts)).ToArray();
        await GoogleErrors.WriteJsonAsync(context, new JsonObject
        {
            ["kind"] = "youtube#videoListResponse",
            ["etag"] = OAuth.OAuthAuthority.RandomId(27),
            ["items"] = new JsonArray(items),
            ["pageInfo"] = new JsonObject { ["totalResults"] = items.Length, ["resultsPerPage"] = items.Length },
        }, 200);
    }

    private static JsonObject ToJson(YouTubeVideo video, IReadOnlyCollection<string> parts)
    {
        var json = new JsonObject { ["kind"] = "youtube#video", ["etag"] = OAuth.OAuthAuthority.RandomId(27), ["id"] = video.Id };
        if (parts.Contains("snippet"))
        {
            var snippet = new JsonObject
            {
                ["publishedAt"] = DriveFile.Rfc3339(video.PublishedAt),
                ["channelId"] = ChannelId,
                ["title"] = video.Title,
                ["description"] = video.Description ?? "",
            };
            if (video.Tags.Count > 0)
            {
                snippet["tags"] = new JsonArray([.. video.Tags.Select(t => (JsonNode)t)]);
            }
            snippet["categoryId"] = video.CategoryId ?? "22";
            json["snippet"] = snippet;
        }
        if (parts.Contains("status"))
        {
            json["status"] = new JsonObject
            {
                ["uploadStatus"] = "uploaded",
                ["privacyStatus"] = video.PrivacyStatus,
                ["license"] = "youtube",
                ["embeddable"] = true,
                ["publicStatsViewable"] = true,
            };
        }
        return json;
    }
}
