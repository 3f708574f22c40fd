/**
 * Direct access to the backup bucket (Cloudflare R2, S3 API) for what no in-cluster controller can
 * answer: K3s etcd snapshots must be listed while the control plane is down. Velero's objects are
 * reached through Velero (velero.ts); this is the one place the CLI itself signs S3 requests.
 *
 * Credentials come from the environment (.envrc.example: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY);
 * the endpoint and bucket from cluster.yaml. INFRA_S3_ENDPOINT points the CLI at another
 * S3-compatible store (path-style, region "auto", as R2 is addressed).
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { r2EndpointHost } from "../config/derived.js";
import type { ClusterConfig } from "../config/schema.js";
import { InfraError } from "../errors.js";

export interface BucketAccess {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface BucketObject {
  key: string;
  size: number;
  lastModified: Date | undefined;
}

/** The bucket of cluster.yaml with the credentials of the environment; a preflight error if they are missing. */
export function bucketAccess(config: ClusterConfig, env: NodeJS.ProcessEnv): BucketAccess {
  const accessKeyId = env.AWS_ACCESS_KEY_ID ?? "";
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY ?? "";
  const missing = [
    accessKeyId ? undefined : "AWS_ACCESS_KEY_ID",
    secretAccessKey ? undefined : "AWS_SECRET_ACCESS_KEY",
  ].filter((name): name is string => name !== undefined);
  if (missing.length > 0) {
    throw new InfraError(
      "R2_CREDENTIALS_MISSING",
      `${missing.join(" and ")} not set: the bucket cannot be read`,
      {
        kind: "preflight",
        hint: "export the R2 API token's Access Key ID and Secret Access Key (see .envrc.example), then run this again",
      },
    );
  }
  return {
    endpoint: env.INFRA_S3_ENDPOINT || `https://${r2EndpointHost(config)}`,
    bucket: config.backup.bucket.name,
    accessKeyId,
    secretAccessKey,
  };
}

/** A client for one bucket; every failure becomes one InfraError that says what to check. */
export class Bucket {
  private client: S3Client | undefined;

  constructor(
    readonly access: BucketAccess,
    private readonly timeoutMs = 30_000,
  ) {}

  private async s3(): Promise<S3Client> {
    if (this.client) return this.client;
    const { S3Client } = await import("@aws-sdk/client-s3");
    this.client = new S3Client({
      endpoint: this.access.endpoint,
      region: "auto",
      forcePathStyle: true,
      credentials: { accessKeyId: this.access.accessKeyId, secretAccessKey: this.access.secretAccessKey },
      maxAttempts: 3,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    return this.client;
  }

  /** Every object under a prefix, all pages. */
  async list(prefix: string, signal?: AbortSignal): Promise<BucketObject[]> {
    const { ListObjectsV2Command } = await import("@aws-sdk/client-s3");
    const client = await this.s3();
    const out: BucketObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(`list ${prefix || "/"}`, signal, (abortSignal) =>
        client.send(
          new ListObjectsV2Command({ Bucket: this.access.bucket, Prefix: prefix, ContinuationToken: token }),
          { abortSignal },
        ),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key) out.push({ key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** An object's user metadata (x-amz-meta-*, keys lower-cased). */
  async metadata(key: string, signal?: AbortSignal): Promise<Record<string, string>> {
    const { HeadObjectCommand } = await import("@aws-sdk/client-s3");
    const client = await this.s3();
    const head = await this.call(`read ${key}`, signal, (abortSignal) =>
      client.send(new HeadObjectCommand({ Bucket: this.access.bucket, Key: key }), { abortSignal }),
    );
    return Object.fromEntries(Object.entries(head.Metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  }

  close(): void {
    this.client?.destroy();
    this.client = undefined;
  }

  private async call<T>(
    what: string,
    signal: AbortSignal | undefined,
    send: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await send(combined);
    } catch (error) {
      if (signal?.aborted) {
        throw new InfraError("INTERRUPTED", `interrupted while reading the bucket (${what})`, {
          kind: "interrupted",
        });
      }
      throw bucketError(error, this.access, what, timeout.aborted);
    }
  }
}

/** The S3 error as one line: wrong credentials, no such bucket, unreachable endpoint. */
export function bucketError(
  error: unknown,
  access: BucketAccess,
  what: string,
  timedOut = false,
): InfraError {
  const name = (error as { name?: string }).name ?? "";
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const where = `bucket ${access.bucket} at ${access.endpoint}`;
  if (timedOut) {
    return new InfraError("R2_UNREACHABLE", `${where} did not answer within the time limit (${what})`, {
      kind: "preflight",
      hint: "check the network and cluster.yaml's cloudflare.accountId (the endpoint is derived from it)",
      cause: error,
    });
  }
  // R2 and AWS: InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied; other S3 servers name an unknown
  // key differently (versitygw: XAdminUserNotFound, HTTP 404).
  if (
    /AccessKey|Signature|AccessDenied|UserNotFound|InvalidToken|Unauthorized|Forbidden/.test(name) ||
    status === 401 ||
    status === 403
  ) {
    return new InfraError(
      "R2_CREDENTIALS_REJECTED",
      `${where} rejected the credentials (${name || `HTTP ${status}`})`,
      {
        kind: "preflight",
        hint: "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY must be an R2 API token with Object Read on this bucket (see .envrc.example)",
        cause: error,
      },
    );
  }
  if (name === "NoSuchBucket") {
    return new InfraError("R2_BUCKET_MISSING", `${where} does not exist`, {
      kind: "preflight",
      hint: "create it with `infra dns apply` (OpenTofu), or fix backup.bucket.name in cluster.yaml",
      cause: error,
    });
  }
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (
    ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET", "ETIMEDOUT"].includes(code) ||
    name === "TimeoutError"
  ) {
    return new InfraError("R2_UNREACHABLE", `${where} is unreachable (${code || name})`, {
      kind: "preflight",
      hint: "check the network and cluster.yaml's cloudflare.accountId (the endpoint is derived from it)",
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return new InfraError("R2_ERROR", `${what} in ${where} failed: ${name ? `${name}: ` : ""}${message}`, {
    hint: "retry; if it persists, check the bucket in the Cloudflare dashboard",
    cause: error,
  });
}
