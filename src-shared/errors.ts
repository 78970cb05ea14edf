/**
 * Error codes: the one list of every code an AppError (or a call result) may carry, each with the message a person
 * sees when no more specific text is at hand and what they can do about it. A code not in this list does not
 * typecheck, so a typo is a compile error rather than a silent mismatch in the renderer or a test.
 *
 * Adding a code: add one entry to ERRORS (keep the groups); `ErrorCode.X` and the `ErrorCode` type follow from it.
 */

export interface ErrorInfo {
  /** What went wrong, in words a person understands (a fallback; the thrower's own message is usually more precise). */
  readonly message: string;
  /** What the person can do about it. */
  readonly action: string;
}

const ERRORS = {
  // ── Generic ────────────────────────────────────────────────────────────────────────────────────────────────
  INTERNAL: { message: 'Something went wrong inside Cronium.', action: 'Try again; if it keeps happening, send the main-process log to support.' },
  INVALID_INPUT: { message: 'Some input is not valid.', action: 'Correct the marked fields and try again.' },
  NOT_FOUND: { message: 'The item was not found.', action: 'Refresh the list; it may have been deleted.' },
  UNAUTHORIZED: { message: 'The request did not carry a valid token.', action: 'Use the token Cronium gave the job; it ends with the job.' },
  FORBIDDEN: { message: 'The request was refused.', action: 'Only local clients Cronium started may use this.' },
  APP_STOPPING: { message: 'Cronium is closing.', action: 'Start Cronium again and retry.' },
  UNKNOWN: { message: 'An unexpected error happened.', action: 'Try again.' },

  // ── Calls between the window and the app (router and transports) ───────────────────────────────────────────
  UNKNOWN_CALL: { message: 'The app has no such call.', action: 'Update Cronium: the window and the app are from different versions.' },
  DISCONNECTED: { message: 'The connection to the app is closed.', action: 'Reload the window or restart Cronium.' },
  BAD_FRAME: { message: 'A malformed request was not run.', action: 'Reload the window; the client sent a broken frame.' },
  UNTRUSTED_SENDER: { message: 'The call came from a page that is not the Cronium window.', action: 'Use Cronium from its own window.' },
  METHOD_NOT_ALLOWED: { message: 'That HTTP method is not allowed here.', action: 'Use the method the response names in its Allow header.' },

  // ── Database ───────────────────────────────────────────────────────────────────────────────────────────────
  DATABASE_UNAVAILABLE: { message: 'The database could not be opened.', action: 'Check that the data folder exists and is writable.' },
  DATABASE_TOO_NEW: { message: 'The database was written by a newer Cronium.', action: 'Install the newer Cronium again, or restore a backup.' },
  MIGRATIONS_MISSING: { message: 'The database migrations are missing.', action: 'Reinstall Cronium.' },
  MIGRATIONS_INVALID: { message: 'The database migrations are malformed.', action: 'Reinstall Cronium.' },
  MIGRATION_FAILED: { message: 'A database migration failed.', action: 'Restore a backup of the data folder and report the log.' },
  MIGRATION_CHANGED: { message: 'An applied migration was changed after it ran.', action: 'Reinstall Cronium; migrations must not be edited.' },

  // ── Secrets and keychain ──────────────────────────────────────────────────────────────────────────────────
  KEYCHAIN_UNAVAILABLE: { message: "The system keychain is not available.", action: 'Unlock or start the keychain (Secret Service on Linux) and try again.' },
  SECRET_INVALID: { message: 'The secret is not valid.', action: 'Enter the secret again.' },
  SECRET_MISSING: { message: 'A secret this needs is missing from the keychain.', action: 'Enter the secret again in the item it belongs to.' },
  SECRET_TOO_SHORT: { message: 'The secret is too short to be masked in logs.', action: 'Use a secret of at least 3 characters.' },
  VARIABLE_NAME_REFUSED: { message: 'This variable name changes how scripts start and is refused.', action: 'Choose another name (see docs/helpers.md for the refused names).' },
  CREDENTIAL_MISSING: { message: "The server's credential is missing.", action: "Enter the server's key or password again." },

  // ── Servers and SSH ───────────────────────────────────────────────────────────────────────────────────────
  SERVER_NOT_FOUND: { message: 'The server was not found.', action: 'Refresh the list; it may have been deleted.' },
  SERVER_IN_USE: { message: 'The server is still used by events or workflows.', action: 'Remove it from them first.' },
  HOST_UNREACHABLE: { message: 'The server could not be reached.', action: 'Check the host name, port and network.' },
  CONNECT_TIMEOUT: { message: 'Connecting to the server timed out.', action: 'Check that the server is up and the port is open.' },
  AUTH_FAILED: { message: 'The server refused the login.', action: 'Check the user name and key or password.' },
  KEY_INVALID: { message: 'The private key could not be read.', action: 'Paste an OpenSSH private key (and its passphrase if it has one).' },
  HOST_KEY_CHANGED: { message: "The server's host key changed.", action: 'Verify the new fingerprint with the server owner, then accept it.' },
  HOST_KEY_UNTRUSTED: { message: "The server's host key is not trusted yet.", action: 'Verify the fingerprint and accept it.' },
  HOST_KEY_MISMATCH: { message: 'The host key to accept is not the one the server showed.', action: 'Test the connection again and accept the key shown.' },
  HOST_KEY_REPLACE_REQUIRED: { message: 'A different host key is already trusted for this server.', action: 'Confirm the replacement explicitly.' },
  CONNECTION_LOST: { message: 'The connection to the server was lost.', action: 'Check the network; Cronium retries where it can.' },
  AGENT_UNAVAILABLE: { message: 'The ssh-agent could not be used.', action: 'Start or unlock the agent (SSH_AUTH_SOCK must name its socket) and add a key with ssh-add.' },
  JUMP_HOST_INVALID: { message: 'The jump hosts of this server are not valid.', action: 'Choose other servers as jump hosts; a server cannot be its own hop.' },
  SSH_CONFIG_INVALID: { message: 'The SSH config could not be imported.', action: 'Fix the file and line named in the message, then preview again.' },
  CHANNEL_REFUSED: { message: 'The server refused to open a session channel.', action: "Raise the server's MaxSessions." },
  FORWARD_REFUSED: { message: 'The server refused port forwarding.', action: 'Set AllowTcpForwarding yes (or remote) on the server.' },
  EXEC_TIMEOUT: { message: 'The command did not finish in time and was stopped.', action: 'Raise the timeout or check the command.' },
  EXEC_CANCELLED: { message: 'The command was cancelled.', action: 'Run it again if needed.' },
  EXEC_FAILED: { message: 'The login worked but a command failed.', action: "Check the user's login shell." },
  SFTP_FAILED: { message: 'A file transfer to the server failed.', action: 'Check that the server has an sftp subsystem and free space.' },
  SSH_PROTOCOL_ERROR: { message: 'The SSH conversation failed.', action: 'Check the server; it sent something Cronium could not understand.' },
  POOL_CLOSED: { message: 'SSH connections are shutting down.', action: 'Start Cronium again and retry.' },

  // ── Events, schedules, settings ───────────────────────────────────────────────────────────────────────────
  EVENT_NOT_FOUND: { message: 'The event was not found.', action: 'Refresh the list; it may have been deleted.' },
  EVENT_IN_USE: { message: 'The event is still used by a workflow.', action: 'Remove it from the workflow first.' },
  EVENT_VERSION_NOT_FOUND: { message: 'That version of the event was not kept.', action: 'Choose another version; only versions saved since the version history was added are kept.' },
  EVENT_CHANGED: { message: 'The event was edited since it was checked.', action: 'Check it again, then switch it.' },
  MIGRATION_NOT_FOUND: { message: 'The migration check or batch was not found.', action: 'Check the events again in the migration wizard.' },
  DIRECT_RUN_NEEDS_CHOICE: { message: 'direct-ssh is only a fallback now: a manual direct run needs an explicit choice.', action: 'Choose "run direct-ssh anyway", or move the event to runner mode.' },
  INVALID_SCHEDULE: { message: 'The schedule is not valid.', action: 'Correct the cron expression or interval.' },
  INVALID_SETTING: { message: 'The setting is not valid.', action: 'Correct the marked value.' },

  // ── Jobs and logs ─────────────────────────────────────────────────────────────────────────────────────────
  JOB_NOT_FOUND: { message: 'The job was not found.', action: 'Refresh the list; it may have been cleaned up.' },
  JOB_CANCELLED: { message: 'The job was cancelled.', action: 'Run it again if needed.' },
  JOB_STATE_INVALID: { message: 'The job cannot change to that state.', action: 'Refresh; the job has moved on.' },
  JOB_DETACHED: { message: 'Cronium is closing; the job keeps running on the server.', action: 'Start Cronium again; it re-attaches the job.' },
  EXECUTOR_MISSING: { message: 'No executor is available for this job.', action: 'Report this; Cronium was started without one.' },
  MODE_UNSUPPORTED: { message: 'This event cannot run in the chosen mode.', action: 'Choose another run mode for the event.' },
  PAYLOAD_TOO_LARGE: { message: 'The payload is too large.', action: 'Send less data.' },
  LOG_NOT_FOUND: { message: 'The log was not found.', action: 'Refresh; it may have been cleaned up.' },
  LOG_SEQUENCE_INVALID: { message: 'Log lines arrived out of order.', action: 'Report this; the log may be incomplete.' },
  LOG_STATE_INVALID: { message: 'The log cannot change to that state.', action: 'Refresh; the log has moved on.' },

  // ── Catalogue import and export ───────────────────────────────────────────────────────────────────────────
  CATALOGUE_REFUSED: { message: 'The catalogue file was not imported: nothing was changed.', action: 'Fix every problem listed (or resolve the conflicts), then import it again.' },

  // ── Workflows ─────────────────────────────────────────────────────────────────────────────────────────────
  WORKFLOW_NOT_FOUND: { message: 'The workflow was not found.', action: 'Refresh the list; it may have been deleted.' },
  WORKFLOW_RUN_NOT_FOUND: { message: 'The workflow run was not found.', action: 'Refresh; it may have been cleaned up.' },
  INVALID_WORKFLOW: { message: 'The workflow is not valid.', action: 'Fix the marked steps or connections.' },
  WORKFLOW_RUN_ACTIVE: { message: 'The workflow run is still going.', action: 'Wait for it to end or cancel it, then resume it from a step.' },
  WORKFLOW_CHANGED: { message: 'The workflow was edited since this run.', action: 'Start a new run of the workflow instead of resuming this one.' },

  // ── Local listener (the helper API for jobs) ──────────────────────────────────────────────────────────────
  LISTENER_FAILED: { message: 'The local helper API could not start.', action: 'Check the port in Settings and restart Cronium.' },
  LISTENER_PORT_IN_USE: { message: 'The helper API port is in use.', action: 'Choose another port in Settings or stop the program using it.' },
  HELPER_JWT_SECRET_TOO_SHORT: { message: 'HELPER_JWT_SECRET is shorter than 32 bytes.', action: 'Set HELPER_JWT_SECRET to at least 32 random bytes (for example `openssl rand -base64 48`), or unset it to use the keychain secret.' },

  // ── Runner: artifacts and signing ─────────────────────────────────────────────────────────────────────────
  ARTIFACT_INVALID: { message: 'The runner artifact is not valid.', action: 'Reinstall Cronium or choose another runner version.' },
  ARTIFACT_TAMPERED: { message: 'The runner artifact does not match its signature.', action: 'Delete it and download it again.' },
  ARTIFACT_UNTRUSTED_KEY: { message: 'The runner artifact is signed by an untrusted key.', action: 'Use an artifact signed by Cronium.' },
  SIGNING_KEY_INVALID: { message: 'The signing key is not valid.', action: 'Check the configured signing key.' },
  SIGNING_KEY_MISMATCH: { message: 'The signing key does not match the trusted key.', action: 'Check the configured signing key.' },
  RUNNER_ARTIFACT_UNAVAILABLE: { message: 'No runner artifact is available for this server.', action: 'Build or download the runner for its platform.' },
  RUNNER_VERSION_INVALID: { message: 'The runner version is not valid.', action: 'Choose a version from the list.' },

  // ── Runner: deployment ────────────────────────────────────────────────────────────────────────────────────
  SERVER_CLOCK_SKEW: { message: "The server's clock is too far from this computer's to hold a schedule.", action: 'Set the server clock right (NTP, timedatectl set-ntp true), then sync the schedule again.' },
  RESIDENT_INSTALL_FAILED: { message: 'The schedule could not be installed in the resident runner on the server.', action: 'Check the server is reachable and its runner deployed, then sync again.' },
  RUNNER_NOT_DEPLOYED: { message: 'No runner is deployed on this server.', action: 'Deploy the runner, or run the event over direct SSH.' },
  RUNNER_DISABLED: { message: 'The runner is turned off.', action: 'Turn on the runner in Settings, or run over direct SSH.' },
  RUNNER_UNAVAILABLE: { message: 'No compatible runner is available on this server.', action: 'Deploy the runner, or run over direct SSH.' },
  RUNNER_DEPLOY_FAILED: { message: 'Deploying the runner failed.', action: 'See the step that failed and try again.' },
  RUNNER_DEPLOY_TIMEOUT: { message: 'Deploying the runner timed out.', action: 'Check the connection and try again.' },
  RUNNER_DISK_FULL: { message: 'The server has no space left for the runner.', action: 'Free some disk space on the server and deploy again.' },
  RUNNER_HANDSHAKE_FAILED: { message: 'The deployed runner did not answer correctly.', action: 'Deploy again; if it persists, report the log.' },
  RUNNER_NOEXEC_HOME: { message: "The server's home folder does not allow running programs.", action: 'Set a runner folder on a filesystem without noexec.' },
  RUNNER_NO_SHA256_TOOL: { message: 'The server has no tool to verify the runner.', action: 'Install coreutils (sha256sum) or openssl, or use direct SSH.' },
  RUNNER_PROBE_FAILED: { message: 'Probing the server for the runner failed.', action: 'Check the connection and try again.' },
  RUNNER_REMOVE_FAILED: { message: 'Removing the runner failed.', action: 'Try again, or remove its folder by hand.' },
  RUNNER_ROLLBACK_FAILED: { message: 'Rolling the runner back failed.', action: 'Deploy a version again.' },
  RUNNER_NO_PREVIOUS_VERSION: { message: 'There is no previous runner version to roll back to.', action: 'Deploy a specific version instead.' },
  RUNNER_UNSUPPORTED_PLATFORM: { message: "The server's platform is not supported by the runner.", action: 'Run the event over direct SSH.' },
  RUNNER_VERIFY_FAILED: { message: 'The uploaded runner did not verify.', action: 'Deploy again.' },
  RUNNER_HEALTH_FAILED: { message: 'The runner health check failed.', action: 'Redeploy the runner.' },
  RUNNER_INTEGRITY_MISMATCH: { message: 'The runner file on the server is not the one Cronium deployed.', action: 'Cronium checks its checksum and redeploys it when auto deploy is on.' },
  RUNNER_OUT_OF_RANGE: { message: "The server's runner is outside the runner range this app speaks.", action: 'Upgrade it from the Runners pane, or set the runner update policy to "on next use".' },
  RUNNER_TAMPERED: { message: 'The runner on the server was replaced or altered after it was deployed.', action: 'Deploy the runner again from the Runners pane, and find out who changed it.' },

  // ── Runner: jobs ──────────────────────────────────────────────────────────────────────────────────────────
  RUNNER_START_FAILED: { message: 'The runner could not start the job.', action: 'Check the runner and try again.' },
  RUNNER_ATTACH_FAILED: { message: 'Cronium could not re-attach to the running job.', action: 'Check the server; the job may still be running there.' },
  RUNNER_JOB_ENDED: { message: 'The job ended on the runner.', action: 'See the job log.' },
  RUNNER_JOB_GONE: { message: 'The job is no longer known to the runner.', action: 'Run it again if needed.' },
  RUNNER_LINK_LOST: { message: 'The link to the runner was lost.', action: 'Check the connection; the job keeps running on the server.' },
  RUNNER_LINK_TIMEOUT: { message: 'The runner stopped answering.', action: 'Check the connection; the job keeps running on the server.' },
} as const satisfies Record<string, ErrorInfo>;

/** Every error code Cronium uses. */
export type ErrorCode = keyof typeof ERRORS;

/** The codes as constants: `ErrorCode.NOT_FOUND` is the literal 'NOT_FOUND'. */
export const ErrorCode = Object.freeze(Object.fromEntries(Object.keys(ERRORS).map((code) => [code, code]))) as {
  readonly [C in ErrorCode]: C;
};

/** True for a string that is one of the known codes (wire data is only a string until checked). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, value);
}

/** The fallback message and the advice for a code; unknown codes get the generic INTERNAL text. */
export function errorInfo(code: string): ErrorInfo {
  return isErrorCode(code) ? ERRORS[code] : ERRORS.INTERNAL;
}
