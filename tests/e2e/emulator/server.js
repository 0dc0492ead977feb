#!/usr/bin/env node
'use strict';
/*
 * Peerline e2e: a local Telegram Bot API emulator.
 *
 * The real bot process (python-telegram-bot 22) talks HTTP to this server exactly as it would to
 * the real Bot API (`<root>/bot<token>/<method>`), in polling mode (getUpdates long polling) or in
 * webhook mode (this server POSTs updates to the bot). Tests drive it through a small control API
 * under `/_test/...` on the same port (see tests/e2e/driver.py, which is the only intended client).
 *
 * Why this file does not wrap telegram-test-api at run time
 * ---------------------------------------------------------
 * package.json pins telegram-test-api 4.2.1 (the brief asked for it, and it remains the reference
 * we compared against). Reading its source (lib/telegramServer.js, lib/routes/bot/*) showed that
 * every method PTB 22 calls would have to be overridden, and so would its storage:
 *   - getMe lacks is_bot (PTB's User.de_json needs it); dates are in milliseconds;
 *   - bot messages are stored as the raw request body (chat_id, reply_markup as sent), not as
 *     Message objects, so edits cannot return the edited Message (they return null);
 *   - getUpdates ignores offset/timeout and marks updates "read" on first fetch, so there is no
 *     confirm-by-offset and no long polling; a shared message/update counter; a 60 s GC timer
 *     silently drops messages during long tests;
 *   - callback queries have no chat_instance; webhooks are a single axios POST with no secret
 *     header, no retry, and a throw on failure; unknown methods become HTTP 500.
 * Proxying it and patching every response would have kept its storage model and added a second
 * one on top, so this file implements the subset Peerline needs directly on node:http (no
 * run-time npm dependency at all), following the Bot API documentation for shapes and errors.
 *
 * Deliberate choices (all to make the emulator catch bugs the real Telegram would surface):
 *   - error replies use Telegram's envelope {"ok":false,"error_code":N,"description":"..."} with
 *     Telegram's wording where we know it, so PTB raises BadRequest/Forbidden/Conflict as in prod;
 *   - parse_mode=HTML is really parsed: an unescaped "<" or an unclosed tag is a 400, and the
 *     stored text is the plain text the user would see (the HTML source is kept for tests);
 *   - editing a message to identical content is a 400 "message is not modified";
 *   - editMessageText without reply_markup removes the inline keyboard, like Telegram;
 *   - sending to a chat nobody opened is 400 "chat not found" (403 "bot can't initiate
 *     conversation with a user" if the emulator knows that user, e.g. as a channel's admin);
 *     to a user who blocked the bot, 403;
 *   - channels: the bot posts, edits and deletes there only while it is an administrator
 *     (403 "bot is not a member of the channel chat" / "bot was kicked from the channel chat"),
 *     and posting needs can_post_messages (400 "need administrator rights in the channel chat");
 *     a channel admin adding/removing the bot produces the `my_chat_member` update Telegram
 *     sends; getChatMember on other members needs the bot to be an admin ("member list is
 *     inaccessible"); a private channel the bot is not in is "chat not found" for getChat;
 *   - sendPhoto/sendDocument take only file_ids this bot has seen (users' photos/documents or
 *     the bot's own uploads), of the right kind: otherwise 400 "wrong file identifier/HTTP URL
 *     specified" / "type of file mismatch"; uploads and http(s) URLs are accepted, not stored;
 *   - deleteMessage refuses messages older than 48 hours ("message can't be deleted"), unless
 *     the bot may delete any message there (a channel admin with can_delete_messages); tests
 *     age a message with /_test/backdate;
 *   - webhook URLs must be loopback (this machine only), and http:// is accepted (Telegram would
 *     demand https on 443/80/88/8443 - irrelevant locally).
 * Not emulated: files (uploads are accepted but only recorded; /file/ answers 404), inline mode,
 * payments, business connections, rate limits (no 429s), MarkdownV2 parsing (text kept as sent),
 * channel_post updates (other admins writing in a channel), discussion groups, signatures.
 *
 * Channels (control API): /_test/channel creates one (id -100..., title, username, admins);
 * /_test/channel_bot has one of its admins add the bot as administrator (with or without
 * can_post_messages), change its rights, or remove it; /_test/transcript and /_test/events
 * with the channel's chat_id read what the bot posted there (as the channel's readers see it).
 *
 * Usage: node server.js [--port N] [--quiet] [--parent-pid PID]
 *   --port / TG_EMULATOR_PORT: port on 127.0.0.1 (0 = any free port; default 0). When listening,
 *   prints one line "TG_EMULATOR_LISTENING port=<n>" on stdout.
 *   --parent-pid: exit when that process is gone (so a killed test run leaves no server behind).
 */

const http = require('node:http');
const crypto = require('node:crypto');

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const cfg = {
    port: Number(process.env.TG_EMULATOR_PORT || 0),
    quiet: process.env.TG_EMULATOR_QUIET === '1',
    parentPid: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') cfg.port = Number(argv[++i]);
    else if (a.startsWith('--port=')) cfg.port = Number(a.slice(7));
    else if (a === '--quiet') cfg.quiet = true;
    else if (a === '--parent-pid') cfg.parentPid = Number(argv[++i]);
    else if (a.startsWith('--parent-pid=')) cfg.parentPid = Number(a.slice(13));
    else {
      process.stderr.write(`unknown argument: ${a}\n`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(cfg.port) || cfg.port < 0 || cfg.port > 65535) {
    process.stderr.write(`bad port: ${cfg.port}\n`);
    process.exit(2);
  }
  return cfg;
}

const CONFIG = parseArgs(process.argv.slice(2));
// Only loopback: this is test infrastructure and must never be reachable from elsewhere.
const HOST = '127.0.0.1';
const MAX_CONTROL_WAIT_MS = 15000; // no control call blocks longer than this
const MAX_GETUPDATES_TIMEOUT_S = 50; // same cap as Telegram
const MAX_BODY_BYTES = 20 * 1024 * 1024;

function log(msg) {
  process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
}
function debug(msg) {
  if (!CONFIG.quiet) log(msg);
}
function brief(value, max = 300) {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s.length > max ? `${s.slice(0, max)}...(${s.length} chars)` : s;
}

// ---------------------------------------------------------------------------------------------
// Errors and small helpers
// ---------------------------------------------------------------------------------------------

/** An error that becomes Telegram's error envelope. */
class ApiError extends Error {
  constructor(code, description) {
    super(description);
    this.code = code;
    this.description = description;
  }
}
const badRequest = (d) => new ApiError(400, `Bad Request: ${d}`);
const forbidden = (d) => new ApiError(403, `Forbidden: ${d}`);
const conflict = (d) => new ApiError(409, `Conflict: ${d}`);
const NOT_FOUND = () => new ApiError(404, 'Not Found');

const nowSec = () => Math.floor(Date.now() / 1000); // Telegram dates are Unix seconds
const clone = (v) => (v === undefined ? undefined : structuredClone(v));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function toInt(v, name) {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw badRequest(`${name} is invalid`);
  return n;
}
function optInt(v, name, dflt) {
  return v === undefined || v === null || v === '' ? dflt : toInt(v, name);
}
function truthy(v) {
  return v === true || v === 'true' || v === 1 || v === '1';
}
/** Drop undefined/null members so JSON looks like Telegram's (it omits absent fields). */
function compact(o) {
  const out = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}
/** Deterministic, Telegram-looking long numeric string (chat_instance, file ids...). */
function numericId(...parts) {
  const h = crypto.createHash('sha256').update(parts.join('\u0000')).digest();
  return (h.readBigInt64BE(0) | 1n).toString();
}
function deepEqual(a, b) {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

// ---------------------------------------------------------------------------------------------
// Request body parsing: JSON, application/x-www-form-urlencoded (what PTB sends), multipart.
// ---------------------------------------------------------------------------------------------

// PTB's form encoding sends str values as-is and everything else json.dumps()'ed, so a form value
// is JSON unless the parameter is a string in the Bot API. These must stay strings even when they
// look like JSON (a text "123" or "true" is still text).
const STRING_PARAMS = new Set([
  'text', 'caption', 'parse_mode', 'url', 'secret_token', 'callback_query_id', 'description',
  'short_description', 'name', 'language_code', 'action', 'inline_message_id', 'ip_address',
  'business_connection_id', 'message_effect_id', 'emoji', 'title', 'query', 'custom_title',
  'photo', 'document', 'sticker', 'video', 'audio', 'voice', 'animation', 'video_note',
  'certificate', 'thumbnail', 'question', 'address', 'phone_number', 'first_name', 'last_name',
]);

function coerceParams(raw) {
  const out = {};
  for (const [k, v] of Object.entries(raw)) {
    if (STRING_PARAMS.has(k)) {
      out[k] = isObj(v) || Array.isArray(v) ? v : String(v);
    } else if (typeof v === 'string') {
      try {
        out[k] = JSON.parse(v);
      } catch {
        out[k] = v; // e.g. chat_id "@channelname"
      }
    } else {
      out[k] = v;
    }
  }
  return out;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, 'Request Entity Too Large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Minimal multipart/form-data parser: text fields as strings, files as {filename, size}. */
function parseMultipart(buf, contentType) {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!m) throw badRequest('multipart boundary missing');
  const boundary = Buffer.from(`--${m[1] || m[2]}`);
  const fields = {};
  let pos = buf.indexOf(boundary);
  while (pos !== -1) {
    const start = pos + boundary.length;
    if (buf.slice(start, start + 2).toString() === '--') break;
    const next = buf.indexOf(boundary, start);
    if (next === -1) break;
    const part = buf.slice(start + 2, next - 2); // strip CRLF after boundary and before next
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const headers = part.slice(0, headerEnd).toString('utf8');
      const body = part.slice(headerEnd + 4);
      const name = /name="([^"]*)"/i.exec(headers);
      const filename = /filename="([^"]*)"/i.exec(headers);
      if (name) {
        fields[name[1]] = filename
          ? { __file__: true, filename: filename[1], size: body.length }
          : body.toString('utf8');
      }
    }
    pos = next;
  }
  return fields;
}

async function parseParams(req, url) {
  const raw = {};
  for (const [k, v] of url.searchParams) raw[k] = v;
  const body = await readBody(req);
  const ct = (req.headers['content-type'] || '').toLowerCase();
  if (body.length > 0) {
    if (ct.startsWith('application/json')) {
      let parsed;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw badRequest("can't parse JSON request body");
      }
      if (!isObj(parsed)) throw badRequest('request body must be a JSON object');
      Object.assign(raw, parsed);
    } else if (ct.startsWith('multipart/form-data')) {
      Object.assign(raw, parseMultipart(body, req.headers['content-type']));
    } else {
      // application/x-www-form-urlencoded, or no content type at all
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) raw[k] = v;
    }
  }
  return raw;
}

// ---------------------------------------------------------------------------------------------
// Telegram HTML (parse_mode=HTML) -> plain text + MessageEntity list
// ---------------------------------------------------------------------------------------------

const HTML_TAGS = {
  b: 'bold', strong: 'bold', i: 'italic', em: 'italic', u: 'underline', ins: 'underline',
  s: 'strikethrough', strike: 'strikethrough', del: 'strikethrough', 'tg-spoiler': 'spoiler',
  span: 'spoiler', a: 'text_link', code: 'code', pre: 'pre', blockquote: 'blockquote',
  'tg-emoji': 'custom_emoji',
};
const NAMED_ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"' };

function parseAttrs(s) {
  const attrs = {};
  const re = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
  let m;
  while ((m = re.exec(s)) !== null) {
    const v = m[2] ?? m[3] ?? m[4] ?? '';
    attrs[m[1].toLowerCase()] = v.replace(/&(lt|gt|amp|quot);/g, (_, n) => NAMED_ENTITIES[n]);
  }
  return attrs;
}

/**
 * Parses Telegram-flavoured HTML. Offsets/lengths are in UTF-16 code units, which is what both
 * Telegram and JavaScript strings use. Errors mimic Telegram's "can't parse entities" 400s.
 */
function parseHtml(src) {
  let out = '';
  const entities = [];
  const stack = [];
  const at = (i) => Buffer.byteLength(src.slice(0, i), 'utf8');
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (ch === '<') {
      const close = src.indexOf('>', i);
      if (close === -1) throw badRequest(`can't parse entities: Unclosed start tag at byte offset ${at(i)}`);
      const inner = src.slice(i + 1, close);
      if (inner.startsWith('/')) {
        const name = inner.slice(1).trim().toLowerCase();
        const top = stack.pop();
        if (!top) throw badRequest(`can't parse entities: Unexpected end tag at byte offset ${at(i)}`);
        if (name !== top.name) {
          throw badRequest(
            `can't parse entities: Unmatched end tag at byte offset ${at(i)}, expected "</${top.name}>", found "</${name}>"`,
          );
        }
        const length = out.length - top.offset;
        const parent = stack[stack.length - 1];
        if (top.name === 'code' && parent && parent.name === 'pre') {
          // <pre><code class="language-x"> is one "pre" entity with a language
          if (top.language) parent.entity.language = top.language;
        } else if (length > 0) {
          entities.push({ ...top.entity, offset: top.offset, length });
        }
      } else {
        const m = /^([a-zA-Z][a-zA-Z0-9-]*)(\s[\s\S]*)?$/.exec(inner);
        const name = m ? m[1].toLowerCase() : inner.split(/\s/)[0];
        if (!m || !(name in HTML_TAGS)) {
          throw badRequest(`can't parse entities: Unsupported start tag "${name}" at byte offset ${at(i)}`);
        }
        const attrs = parseAttrs(m[2] || '');
        const entity = { type: HTML_TAGS[name] };
        let language;
        if (name === 'a') {
          if (!attrs.href) throw badRequest(`can't parse entities: Can't find href attribute at byte offset ${at(i)}`);
          entity.url = attrs.href;
        } else if (name === 'span' && attrs.class !== 'tg-spoiler') {
          throw badRequest(`can't parse entities: Tag "span" must have class "tg-spoiler" at byte offset ${at(i)}`);
        } else if (name === 'blockquote' && 'expandable' in attrs) {
          entity.type = 'expandable_blockquote';
        } else if (name === 'tg-emoji') {
          entity.custom_emoji_id = attrs['emoji-id'];
        } else if (name === 'code' && attrs.class && attrs.class.startsWith('language-')) {
          language = attrs.class.slice('language-'.length);
        }
        stack.push({ name, offset: out.length, entity, language });
      }
      i = close + 1;
    } else if (ch === '&') {
      const m = /^&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{1,10});/.exec(src.slice(i, i + 12));
      if (m && m[1][0] === '#') {
        const cp = m[1][1] === 'x' ? parseInt(m[1].slice(2), 16) : parseInt(m[1].slice(1), 10);
        out += cp <= 0x10ffff ? String.fromCodePoint(cp) : m[0];
        i += m[0].length;
      } else if (m && NAMED_ENTITIES[m[1].toLowerCase()] !== undefined) {
        out += NAMED_ENTITIES[m[1].toLowerCase()];
        i += m[0].length;
      } else {
        out += '&'; // Telegram leaves unknown entities as literal text
        i += 1;
      }
    } else {
      out += ch;
      i += 1;
    }
  }
  if (stack.length) {
    throw badRequest(`can't parse entities: Can't find end tag corresponding to start tag "${stack[stack.length - 1].name}"`);
  }
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text: out, entities };
}

/** Applies parse_mode/entities to a text or caption. Returns {text, entities, html}. */
function formatText(text, parseMode, entities) {
  const mode = (parseMode || '').toLowerCase();
  if (mode === 'html') {
    const r = parseHtml(text);
    return { text: r.text, entities: r.entities, html: text };
  }
  if (mode && mode !== 'markdown' && mode !== 'markdownv2') {
    throw badRequest(`unsupported parse_mode`);
  }
  if (mode) debug(`note: parse_mode=${parseMode} is not parsed by the emulator; text kept as sent`);
  return { text, entities: Array.isArray(entities) ? entities : [], html: null };
}

// ---------------------------------------------------------------------------------------------
// Reply markup
// ---------------------------------------------------------------------------------------------

const INLINE_ACTION_FIELDS = [
  'callback_data', 'url', 'web_app', 'login_url', 'switch_inline_query',
  'switch_inline_query_current_chat', 'switch_inline_query_chosen_chat', 'copy_text',
  'callback_game', 'pay',
];

/**
 * Splits reply_markup into the inline keyboard (part of the Message, as Telegram returns it) and
 * any reply keyboard / remove / force_reply (Telegram does not echo those in Message, but the user
 * sees them, so the emulator keeps them for tests).
 */
function parseReplyMarkup(rm) {
  if (rm === undefined || rm === null || rm === '') return { inline: null, other: null };
  if (!isObj(rm)) throw badRequest("can't parse reply keyboard markup JSON object");
  if ('inline_keyboard' in rm) {
    const kb = rm.inline_keyboard;
    if (!Array.isArray(kb) || !kb.every(Array.isArray)) throw badRequest('field "inline_keyboard" must be an Array of Arrays');
    const rows = kb.map((row) => row.map((btn) => {
      if (!isObj(btn) || typeof btn.text !== 'string') throw badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
      const actions = INLINE_ACTION_FIELDS.filter((f) => btn[f] !== undefined && btn[f] !== null);
      if (actions.length === 0) throw badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
      if (btn.text === '') throw badRequest('BUTTON_TEXT_INVALID');
      if (btn.callback_data !== undefined) {
        const n = Buffer.byteLength(String(btn.callback_data), 'utf8');
        if (n < 1 || n > 64) throw badRequest('BUTTON_DATA_INVALID');
      }
      return compact({ ...btn });
    }));
    return { inline: { inline_keyboard: rows.filter((r) => r.length > 0) }, other: null };
  }
  if ('keyboard' in rm || 'remove_keyboard' in rm || 'force_reply' in rm) return { inline: null, other: rm };
  throw badRequest("can't parse reply keyboard markup JSON object");
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

let nextUpdateId = 1000; // global and monotonic, so reset never makes a running bot skip updates
let nextCallbackSeq = 1;
let nextFileSeq = 1;
let shuttingDown = false;
const bots = new Map(); // token -> BotState

const DEFAULT_ALLOWED = new Set([
  'message', 'edited_message', 'channel_post', 'edited_channel_post', 'business_connection',
  'business_message', 'edited_business_message', 'deleted_business_messages', 'inline_query',
  'chosen_inline_result', 'callback_query', 'shipping_query', 'pre_checkout_query',
  'purchased_paid_media', 'poll', 'poll_answer', 'my_chat_member', 'chat_join_request',
  'chat_boost', 'removed_chat_boost',
]); // i.e. everything except chat_member, message_reaction, message_reaction_count

class BotState {
  constructor(token) {
    this.token = token;
    const m = /^(\d+):/.exec(token);
    this.id = m ? Number(m[1]) : 100000001;
    this.firstName = 'Peerline Test Bot';
    this.username = 'PeerlineTestBot';
    // chat id -> {chat, nextMessageId, messages: Map(id -> record), blocked, members, botRights}
    // members: user id (and, in channels, the bot's id) -> status; botRights: the bot's admin
    // rights in a channel ({can_post_messages, can_edit_messages, can_delete_messages}) or null.
    this.chats = new Map();
    this.users = new Map(); // user id -> User
    this.files = new Map(); // file_id -> {kind: photo|document|sticker, stub}: what sends may reuse
    this.pending = []; // updates not yet confirmed (getUpdates offset) or delivered (webhook)
    this.allowedUpdates = null; // null = Telegram's default set
    this.webhook = null; // {url, secret_token, max_connections, allowed_updates, ip_address}
    this.webhookError = null; // {date, message}
    this.webhookRunning = false;
    this.pollGeneration = 0; // bumped by each getUpdates; an older waiting poll gets 409
    this.releaseGeneration = 0; // bumped by /_test/release_polls: waiting polls answer [] now
    this.lastPollAt = null;
    this.delivered = 0;
    this.events = []; // what the bot did to messages: sent / edited / deleted (snapshots)
    this.eventSeq = 0;
    this.calls = []; // every Bot API call: method, params, outcome
    this.callSeq = 0;
    this.callbacks = new Map(); // callback_query id -> {answered, answer}
    this.commands = new Map(); // scope+language -> BotCommand[]
    this.texts = { description: new Map(), short_description: new Map(), name: new Map() };
    this.menuButtons = new Map();
    this.waiters = new Set();
    this.removed = false;
  }

  botUser() {
    return { id: this.id, is_bot: true, first_name: this.firstName, username: this.username };
  }

  notify() {
    for (const w of [...this.waiters]) {
      let v;
      try {
        v = w.check();
      } catch (e) {
        v = { error: e };
      }
      if (v) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(v);
      }
    }
  }

  /** Resolves with check()'s first truthy value, or null after timeoutMs / client disconnect. */
  waitFor(check, timeoutMs, res) {
    const v = check();
    if (v || timeoutMs <= 0) return Promise.resolve(v || null);
    return new Promise((resolve) => {
      const w = { check, resolve };
      w.timer = setTimeout(() => {
        this.waiters.delete(w);
        resolve(null);
      }, timeoutMs);
      if (res) {
        res.on('close', () => {
          if (this.waiters.delete(w)) {
            clearTimeout(w.timer);
            resolve(null);
          }
        });
      }
      this.waiters.add(w);
    });
  }
}

function getBot(token) {
  let b = bots.get(token);
  if (!b) {
    b = new BotState(token);
    bots.set(token, b);
  }
  return b;
}

function makeUser(spec) {
  if (!isObj(spec)) throw badRequest('user must be an object');
  const id = toInt(spec.id, 'user.id');
  if (!spec.first_name) throw badRequest('user.first_name is required');
  return compact({
    id,
    is_bot: false,
    first_name: String(spec.first_name),
    last_name: spec.last_name ?? undefined,
    username: spec.username ?? undefined,
    language_code: spec.language_code ?? undefined,
    is_premium: spec.is_premium ?? undefined,
  });
}

function privateChatOf(user) {
  return compact({
    id: user.id, type: 'private', first_name: user.first_name, last_name: user.last_name,
    username: user.username,
  });
}

function ensureChat(bot, chat) {
  let c = bot.chats.get(chat.id);
  if (!c) {
    c = {
      chat: compact({ ...chat }), nextMessageId: 1, messages: new Map(), blocked: false,
      members: new Map(), botRights: null,
    };
    bot.chats.set(chat.id, c);
  } else {
    Object.assign(c.chat, compact(chat)); // names may change
  }
  return c;
}

/** The user's chat for a control call: their private chat, or a group given as `chat`. */
function userChat(bot, user, chatSpec) {
  bot.users.set(user.id, user);
  if (chatSpec === undefined || chatSpec === null) return ensureChat(bot, privateChatOf(user));
  if (!isObj(chatSpec)) throw badRequest('chat must be an object');
  const id = toInt(chatSpec.id, 'chat.id');
  const type = chatSpec.type || (id > 0 ? 'private' : 'group');
  if (type === 'private' && id !== user.id) throw badRequest('a private chat id must equal the user id');
  if (type === 'channel' || (bot.chats.get(id) && bot.chats.get(id).chat.type === 'channel')) {
    throw badRequest('users do not write to the bot in channels; create one with /_test/channel');
  }
  const c = type === 'private' ? ensureChat(bot, privateChatOf(user)) : ensureChat(bot, { ...chatSpec, id, type });
  if (type !== 'private' && !['creator', 'administrator', 'member', 'restricted'].includes(c.members.get(user.id))) {
    c.members.set(user.id, 'member'); // whoever writes in a group is in it
  }
  return c;
}

/** Looks up the chat a Bot API call names (numeric id or @username). */
function chatOf(bot, chatId) {
  if (chatId === undefined || chatId === null || chatId === '') throw badRequest('chat_id is empty');
  if (typeof chatId === 'string' && chatId.startsWith('@')) {
    for (const c of bot.chats.values()) {
      if (c.chat.username && `@${c.chat.username}`.toLowerCase() === chatId.toLowerCase()) return c;
    }
    throw badRequest('chat not found');
  }
  const c = bot.chats.get(toInt(chatId, 'chat_id'));
  if (!c) throw badRequest('chat not found');
  return c;
}

function writableChat(bot, chatId) {
  const id = typeof chatId === 'string' && /^\d+$/.test(chatId) ? Number(chatId) : chatId;
  if (Number.isInteger(id) && id > 0 && !bot.chats.has(id) && bot.users.has(id)) {
    // A user the emulator knows (e.g. a channel's admin) who never opened the bot's chat.
    throw forbidden("bot can't initiate conversation with a user");
  }
  const c = chatOf(bot, chatId);
  if (c.blocked) throw forbidden('bot was blocked by the user');
  if (c.chat.type === 'channel' && !channelRights(bot, c).can_post_messages) {
    throw badRequest('need administrator rights in the channel chat');
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Channels: the bot's place in them
// ---------------------------------------------------------------------------------------------

const isChannel = (c) => c.chat.type === 'channel';
const botStatusIn = (bot, c) => c.members.get(bot.id) || 'left';

/** The bot's admin rights in channel c; 403 as Telegram answers when it is not an admin. */
function channelRights(bot, c) {
  const status = botStatusIn(bot, c);
  if (status === 'kicked') throw forbidden('bot was kicked from the channel chat');
  if (status !== 'administrator') throw forbidden('bot is not a member of the channel chat');
  return c.botRights || {};
}

/** The bot's ChatMember in a channel, as getChatMember and my_chat_member show it. */
function botChannelMember(bot, c) {
  const status = botStatusIn(bot, c);
  return chatMemberObject(bot.botUser(), status, status === 'administrator' ? c.botRights : null);
}

/** ChatFullInfo (getChat): the chat plus the fields PTB 22 requires of every chat. */
function chatFullInfo(bot, c) {
  return {
    ...clone(c.chat),
    accent_color_id: Math.abs(c.chat.id) % 7,
    max_reaction_count: 11,
    accepted_gift_types: {
      unlimited_gifts: c.chat.type === 'private', limited_gifts: c.chat.type === 'private',
      unique_gifts: c.chat.type === 'private', premium_subscription: c.chat.type === 'private',
      gifts_from_channels: c.chat.type === 'private',
    },
  };
}

function getChat(bot, p) {
  const c = chatOf(bot, p.chat_id);
  // A public channel (with a username) can be looked up by anyone; a private one only by members.
  if (isChannel(c) && !c.chat.username && botStatusIn(bot, c) !== 'administrator') {
    throw badRequest('chat not found');
  }
  return chatFullInfo(bot, c);
}

// ---------------------------------------------------------------------------------------------
// Updates: queue, long polling, webhook delivery
// ---------------------------------------------------------------------------------------------

function updateType(u) {
  return Object.keys(u).find((k) => k !== 'update_id');
}

function isAllowed(bot, type) {
  const list = bot.webhook ? bot.webhook.allowed_updates : bot.allowedUpdates;
  if (Array.isArray(list) && list.length > 0) return list.includes(type);
  return DEFAULT_ALLOWED.has(type);
}

function addUpdate(bot, body) {
  const update = { update_id: nextUpdateId++, ...body };
  bot.pending.push(update);
  debug(`[${bot.id}] + update ${update.update_id} ${updateType(update)} ${brief(body, 200)}`);
  bot.notify();
  kickWebhook(bot);
  return update;
}

/** Updates ready for delivery, oldest first. Disallowed types are dropped like Telegram does. */
function deliverable(bot, limit) {
  bot.pending = bot.pending.filter((u) => isAllowed(bot, updateType(u)));
  return bot.pending.slice(0, limit).map(clone);
}

function confirmUpTo(bot, offset) {
  if (offset > 0) bot.pending = bot.pending.filter((u) => u.update_id >= offset);
  else if (offset < 0) bot.pending = bot.pending.slice(offset); // keep the last |offset|
}

const CONFLICT_WEBHOOK = "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";
const CONFLICT_OTHER_POLL = 'terminated by other getUpdates request; make sure that only one bot instance is running';

async function getUpdates(bot, p, res) {
  if (bot.webhook) throw conflict(CONFLICT_WEBHOOK);
  const offset = optInt(p.offset, 'offset', 0);
  const limit = Math.min(Math.max(optInt(p.limit, 'limit', 100), 1), 100);
  const timeout = Math.min(Math.max(optInt(p.timeout, 'timeout', 0), 0), MAX_GETUPDATES_TIMEOUT_S);
  if (p.allowed_updates !== undefined) bot.allowedUpdates = Array.isArray(p.allowed_updates) ? p.allowed_updates : null;
  confirmUpTo(bot, offset);
  bot.lastPollAt = Date.now();
  const generation = ++bot.pollGeneration;
  const release = bot.releaseGeneration;
  bot.notify(); // wakes an older waiting getUpdates so it can answer 409
  const result = await bot.waitFor(() => {
    if (bot.removed || bot.releaseGeneration !== release) return { updates: [] };
    if (bot.pollGeneration !== generation) return { error: conflict(CONFLICT_OTHER_POLL) };
    if (bot.webhook) return { error: conflict(CONFLICT_WEBHOOK) };
    const ups = deliverable(bot, limit);
    return ups.length ? { updates: ups } : null;
  }, timeout * 1000, res);
  if (result && result.error) throw result.error;
  const updates = result ? result.updates : [];
  bot.delivered += updates.length;
  return updates;
}

function isLoopbackUrl(u) {
  let url;
  try {
    url = new URL(u);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const h = url.hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Webhook delivery: one update at a time, in order (so tests are deterministic), retrying with a
 * short backoff while the bot's server is not up yet or answers non-2xx. An update leaves the
 * queue only on a 2xx answer. Runs while a webhook is set and updates are pending.
 */
async function kickWebhook(bot) {
  if (bot.webhookRunning || !bot.webhook || shuttingDown) return;
  bot.webhookRunning = true;
  let delay = 50;
  let failures = 0;
  try {
    while (bot.webhook && !shuttingDown && !bot.removed) {
      const wh = bot.webhook;
      const [update] = deliverable(bot, 1);
      if (!update) break;
      let err;
      try {
        const headers = { 'Content-Type': 'application/json' }; // PTB accepts exactly this value
        if (wh.secret_token) headers['X-Telegram-Bot-Api-Secret-Token'] = wh.secret_token;
        const r = await fetch(wh.url, {
          method: 'POST', headers, body: JSON.stringify(update), signal: AbortSignal.timeout(10000),
        });
        await r.arrayBuffer().catch(() => {});
        if (r.status >= 200 && r.status < 300) {
          bot.pending = bot.pending.filter((u) => u.update_id !== update.update_id);
          bot.delivered += 1;
          debug(`[${bot.id}] webhook delivered update ${update.update_id} -> ${r.status}`);
          delay = 50;
          failures = 0;
          bot.notify();
          continue;
        }
        err = `Wrong response from the webhook: ${r.status} ${r.statusText}`;
      } catch (e) {
        err = `Connection failed: ${(e.cause && (e.cause.code || e.cause.message)) || e.message}`;
      }
      failures += 1;
      bot.webhookError = { date: nowSec(), message: err };
      if (failures === 1 || failures % 20 === 0) {
        log(`[${bot.id}] webhook ${wh.url} update ${update.update_id}: ${err} (attempt ${failures}, retrying)`);
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
  } finally {
    bot.webhookRunning = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Messages the bot sends / edits / deletes
// ---------------------------------------------------------------------------------------------

function recordEvent(bot, kind, chatId, rec, method) {
  bot.events.push({
    seq: ++bot.eventSeq,
    kind, // 'sent' | 'edited' | 'deleted'
    method,
    chat_id: chatId,
    message_id: rec.message.message_id,
    time: Date.now() / 1000,
    message: clone(rec.message),
    html: rec.html,
    reply_keyboard: clone(rec.replyKeyboard),
  });
  if (bot.events.length > 10000) bot.events.splice(0, bot.events.length - 10000);
  bot.notify();
}

function storeMessage(bot, c, message, extra) {
  const rec = { message, sender: extra.sender, deleted: false, html: extra.html ?? null, replyKeyboard: extra.replyKeyboard ?? null };
  c.messages.set(message.message_id, rec);
  return rec;
}

function replyTarget(c, p) {
  let id = p.reply_to_message_id;
  if (isObj(p.reply_parameters)) id = p.reply_parameters.message_id;
  if (id === undefined || id === null) return undefined;
  const rec = c.messages.get(toInt(id, 'reply_to_message_id'));
  if (!rec || rec.deleted) {
    if (isObj(p.reply_parameters) && truthy(p.reply_parameters.allow_sending_without_reply)) return undefined;
    throw badRequest('message to be replied not found');
  }
  const m = clone(rec.message);
  delete m.reply_to_message;
  return m;
}

/** Creates a bot message in chat c from content fields + common send parameters. */
function newBotMessage(bot, c, content, p, method, meta = {}) {
  const markup = parseReplyMarkup(p.reply_markup);
  if (isChannel(c) && markup.other) throw badRequest('reply keyboards are not allowed in channels');
  const message = compact({
    message_id: c.nextMessageId++,
    // A channel post is signed by the channel, not by the bot that wrote it.
    from: isChannel(c) ? undefined : bot.botUser(),
    sender_chat: isChannel(c) ? clone(c.chat) : undefined,
    chat: clone(c.chat),
    date: nowSec(),
    reply_to_message: replyTarget(c, p),
    ...content,
    has_protected_content: truthy(p.protect_content) ? true : undefined,
    reply_markup: markup.inline || undefined,
  });
  const rec = storeMessage(bot, c, message, { sender: 'bot', html: meta.html, replyKeyboard: markup.other });
  recordEvent(bot, 'sent', c.chat.id, rec, method);
  return rec;
}

function textContent(p) {
  if (p.text === undefined || p.text === null) throw badRequest('message text is empty');
  const f = formatText(String(p.text), p.parse_mode, p.entities);
  if (f.text.trim() === '') throw badRequest('message text is empty');
  if (f.text.length > 4096) throw badRequest('message is too long');
  const content = { text: f.text, entities: f.entities.length ? f.entities : undefined };
  if (isObj(p.link_preview_options)) content.link_preview_options = p.link_preview_options;
  return { content, html: f.html };
}

function captionContent(caption, parseMode, entities) {
  if (caption === undefined || caption === null) return { content: {}, html: null };
  const f = formatText(String(caption), parseMode, entities);
  if (f.text.length > 1024) throw badRequest('message caption is too long');
  return { content: { caption: f.text, caption_entities: f.entities.length ? f.entities : undefined }, html: f.html };
}

function botRecordForEdit(bot, p) {
  if (p.inline_message_id !== undefined) throw badRequest('MESSAGE_ID_INVALID'); // no inline mode here
  const c = chatOf(bot, p.chat_id);
  if (isChannel(c)) {
    const rights = channelRights(bot, c);
    if (!rights.can_post_messages && !rights.can_edit_messages) throw badRequest("message can't be edited");
  }
  const rec = c.messages.get(optInt(p.message_id, 'message_id', -1));
  if (!rec || rec.deleted) throw badRequest('message to edit not found');
  if (rec.sender !== 'bot') throw badRequest("message can't be edited");
  return { c, rec };
}

const NOT_MODIFIED = 'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

function editMessageText(bot, p, method) {
  const { c, rec } = botRecordForEdit(bot, p);
  const m = rec.message;
  if (m.text === undefined) throw badRequest('there is no text in the message to edit');
  const { content, html } = textContent(p);
  const markup = parseReplyMarkup(p.reply_markup);
  if (markup.other) throw badRequest('inline keyboard expected');
  const newMarkup = markup.inline || undefined; // omitted reply_markup removes the keyboard
  if (m.text === content.text && deepEqual(m.entities, content.entities) && deepEqual(m.reply_markup, newMarkup)) {
    throw badRequest(NOT_MODIFIED);
  }
  m.text = content.text;
  if (content.entities) m.entities = content.entities;
  else delete m.entities;
  if (content.link_preview_options) m.link_preview_options = content.link_preview_options;
  if (newMarkup) m.reply_markup = newMarkup;
  else delete m.reply_markup;
  m.edit_date = nowSec();
  rec.html = html;
  recordEvent(bot, 'edited', c.chat.id, rec, method);
  return clone(m);
}

function editMessageCaption(bot, p, method) {
  const { c, rec } = botRecordForEdit(bot, p);
  const m = rec.message;
  if (m.text !== undefined) throw badRequest('there is no caption in the message to edit');
  const { content, html } = captionContent(p.caption ?? '', p.parse_mode, p.caption_entities);
  const markup = parseReplyMarkup(p.reply_markup);
  const newMarkup = markup.inline || undefined;
  if ((m.caption ?? '') === (content.caption ?? '') && deepEqual(m.caption_entities, content.caption_entities) && deepEqual(m.reply_markup, newMarkup)) {
    throw badRequest(NOT_MODIFIED);
  }
  for (const k of ['caption', 'caption_entities']) {
    if (content[k]) m[k] = content[k];
    else delete m[k];
  }
  if (newMarkup) m.reply_markup = newMarkup;
  else delete m.reply_markup;
  m.edit_date = nowSec();
  rec.html = html;
  recordEvent(bot, 'edited', c.chat.id, rec, method);
  return clone(m);
}

function editMessageReplyMarkup(bot, p, method) {
  const { c, rec } = botRecordForEdit(bot, p);
  const m = rec.message;
  const markup = parseReplyMarkup(p.reply_markup);
  if (markup.other) throw badRequest('inline keyboard expected');
  const newMarkup = markup.inline || undefined;
  if (deepEqual(m.reply_markup, newMarkup)) throw badRequest(NOT_MODIFIED);
  if (newMarkup) m.reply_markup = newMarkup;
  else delete m.reply_markup;
  m.edit_date = nowSec();
  recordEvent(bot, 'edited', c.chat.id, rec, method);
  return clone(m);
}

const DELETE_WINDOW_S = 48 * 3600;

/** Whether the bot may delete this message (Telegram: own messages in a channel with
 * can_post_messages, any with can_delete_messages; anything else only within 48 hours). */
function mayDelete(bot, c, rec) {
  let anyAge = false;
  if (isChannel(c)) {
    const rights = channelRights(bot, c);
    if (!rights.can_delete_messages && !(rec.sender === 'bot' && rights.can_post_messages)) return false;
    anyAge = Boolean(rights.can_delete_messages);
  }
  return anyAge || nowSec() - rec.message.date < DELETE_WINDOW_S;
}

function deleteOne(bot, c, messageId, method) {
  const rec = c.messages.get(messageId);
  if (!rec || rec.deleted) return false;
  if (!mayDelete(bot, c, rec)) throw badRequest("message can't be deleted");
  rec.deleted = true;
  recordEvent(bot, 'deleted', c.chat.id, rec, method);
  return true;
}

const CONTENT_KEYS = [
  'text', 'entities', 'link_preview_options', 'photo', 'sticker', 'document', 'video', 'audio',
  'voice', 'animation', 'video_note', 'contact', 'location', 'venue', 'dice', 'poll', 'caption',
  'caption_entities',
];

function copyOrForward(bot, p, method) {
  const from = chatOf(bot, p.from_chat_id);
  const src = from.messages.get(optInt(p.message_id, 'message_id', -1));
  const verb = method === 'forwardmessage' ? 'forwarded' : 'copied';
  if (!src || src.deleted) throw badRequest(`message to ${method === 'forwardmessage' ? 'forward' : 'copy'} not found`);
  if (src.message.has_protected_content) throw badRequest(`message can't be ${verb}`);
  const to = writableChat(bot, p.chat_id);
  const content = {};
  for (const k of CONTENT_KEYS) if (src.message[k] !== undefined) content[k] = clone(src.message[k]);
  let html = null;
  if (method === 'forwardmessage') {
    const s = src.message;
    content.forward_origin = s.from && s.from.is_bot === false
      ? { type: 'user', date: s.date, sender_user: clone(s.from) }
      : { type: 'user', date: s.date, sender_user: clone(s.from || bot.botUser()) };
    // a forward keeps the original's markup-free content; no new markup allowed
    delete p.reply_markup;
  } else if (content.text === undefined && p.caption !== undefined) {
    const cap = captionContent(p.caption, p.parse_mode, p.caption_entities);
    delete content.caption;
    delete content.caption_entities;
    Object.assign(content, cap.content);
    html = cap.html;
  } else if (content.text === undefined && truthy(p.remove_caption)) {
    delete content.caption;
    delete content.caption_entities;
  }
  if (Object.keys(content).length === 0) throw badRequest(`message can't be ${verb}`);
  const rec = newBotMessage(bot, to, compact(content), p, method, { html });
  return method === 'forwardmessage' ? clone(rec.message) : { message_id: rec.message.message_id };
}

// ---------------------------------------------------------------------------------------------
// Bot settings: commands, descriptions, chat members
// ---------------------------------------------------------------------------------------------

function commandsKey(p) {
  const scope = isObj(p.scope) ? p.scope : { type: 'default' };
  const norm = compact({ type: scope.type || 'default', chat_id: scope.chat_id, user_id: scope.user_id });
  return `${JSON.stringify(norm)}|${p.language_code || ''}`;
}

function setMyCommands(bot, p) {
  const cmds = p.commands;
  if (!Array.isArray(cmds)) throw badRequest("can't parse commands JSON object");
  if (cmds.length > 100) throw badRequest('too many commands');
  const clean = cmds.map((c) => {
    if (!isObj(c) || typeof c.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(c.command.replace(/^\//, ''))) {
      throw badRequest('BOT_COMMAND_INVALID');
    }
    const d = typeof c.description === 'string' ? c.description : '';
    if (d.trim().length < 1 || d.length > 256) throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
    return { command: c.command.replace(/^\//, ''), description: d };
  });
  if (clean.length) bot.commands.set(commandsKey(p), clean);
  else bot.commands.delete(commandsKey(p));
  return true;
}

function setText(bot, kind, max, p) {
  const v = p[kind] === undefined || p[kind] === null ? '' : String(p[kind]);
  if (v.length > max) throw badRequest(`${kind} is too long`);
  const lang = p.language_code || '';
  if (v) bot.texts[kind].set(lang, v);
  else bot.texts[kind].delete(lang);
  return true;
}

function getText(bot, kind, p) {
  const lang = p.language_code || '';
  return { [kind]: bot.texts[kind].get(lang) ?? bot.texts[kind].get('') ?? '' };
}

/** A ChatMember of `status`; `rights` adds/overrides an administrator's can_* fields (in
 * channels: can_post_messages, can_edit_messages, can_delete_messages). */
function chatMemberObject(user, status, rights = null) {
  switch (status) {
    case 'creator':
      return { status, user, is_anonymous: false };
    case 'administrator':
      return {
        status, user, can_be_edited: false, is_anonymous: false, can_manage_chat: true,
        can_delete_messages: true, can_manage_video_chats: true, can_restrict_members: true,
        can_promote_members: false, can_change_info: true, can_invite_users: true,
        can_post_stories: false, can_edit_stories: false, can_delete_stories: false,
        ...(rights || {}),
      };
    case 'restricted':
      return {
        status, user, is_member: true, can_change_info: false, can_invite_users: false,
        can_pin_messages: false, can_send_messages: false, can_send_polls: false,
        can_send_other_messages: false, can_add_web_page_previews: false, can_manage_topics: false,
        until_date: 0, can_send_audios: false, can_send_documents: false, can_send_photos: false,
        can_send_videos: false, can_send_video_notes: false, can_send_voice_notes: false,
        can_edit_tag: false,
      };
    case 'kicked':
      return { status, user, until_date: 0 };
    case 'left':
      return { status, user };
    default:
      return { status: 'member', user };
  }
}

function getChatMember(bot, p) {
  const c = chatOf(bot, p.chat_id);
  const userId = toInt(p.user_id, 'user_id');
  if (isChannel(c)) {
    if (userId === bot.id) return botChannelMember(bot, c);
    // Only a channel's administrators may look at its members.
    if (botStatusIn(bot, c) !== 'administrator') throw badRequest('member list is inaccessible');
    const user = bot.users.get(userId);
    if (!user) throw badRequest('user not found');
    const status = c.members.get(userId) || 'left';
    return chatMemberObject(user, status, status === 'administrator' ? { can_post_messages: true, can_edit_messages: true } : null);
  }
  if (userId === bot.id) {
    return chatMemberObject(bot.botUser(), c.members.get(userId) || 'member');
  }
  const user = bot.users.get(userId);
  if (!user) throw badRequest('user not found');
  if (c.chat.type === 'private') {
    if (c.chat.id !== userId) throw badRequest('user not found');
    return chatMemberObject(user, 'member');
  }
  return chatMemberObject(user, c.members.get(userId) || 'left');
}

// ---------------------------------------------------------------------------------------------
// Sending media: a file_id the bot has seen, an upload, or an http(s) URL (not fetched)
// ---------------------------------------------------------------------------------------------

const MIME_BY_EXT = { pdf: 'application/pdf', jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', txt: 'text/plain' };

function mediaFile(bot, value, kind) {
  if (value === undefined || value === null || value === '') throw badRequest(`there is no ${kind} in the request`);
  const upload = isObj(value) && value.__file__;
  const url = !upload && /^https?:\/\//i.test(String(value));
  if (upload || url) {
    const name = upload ? value.filename || 'file' : String(value).split('/').pop() || 'file';
    const size = upload ? value.size : 10240;
    if (kind === 'photo') return [fileStub(bot, 'photo', { width: 1280, height: 960, file_size: size })];
    const ext = (/\.([a-z0-9]+)$/i.exec(name) || [])[1];
    return fileStub(bot, 'doc', {
      file_name: name, mime_type: MIME_BY_EXT[(ext || '').toLowerCase()] || 'application/octet-stream', file_size: size,
    });
  }
  if (isObj(value)) throw badRequest(`wrong ${kind} given`);
  const known = bot.files.get(String(value));
  if (!known) throw badRequest('wrong file identifier/HTTP URL specified');
  if (known.kind !== kind) throw badRequest('type of file mismatch');
  return kind === 'photo' ? [clone(known.stub)] : clone(known.stub);
}

function sendMedia(bot, p, method, kind) {
  const c = writableChat(bot, p.chat_id);
  const file = mediaFile(bot, p[kind], kind);
  const cap = captionContent(p.caption, p.parse_mode, p.caption_entities);
  return clone(newBotMessage(bot, c, compact({ [kind]: file, ...cap.content }), p, method, { html: cap.html }).message);
}

// ---------------------------------------------------------------------------------------------
// Bot API method table. Keys are lower-case: Telegram method names are case-insensitive.
// Each handler gets (bot, params, res, methodLower) and returns the `result` (or a Promise).
// ---------------------------------------------------------------------------------------------

const CHAT_ACTIONS = new Set([
  'typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice',
  'upload_document', 'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note',
]);

const METHODS = {
  getme: (bot) => ({
    ...bot.botUser(), can_join_groups: true, can_read_all_group_messages: false,
    supports_inline_queries: false, can_connect_to_business: false, has_main_web_app: false,
  }),
  logout: () => true,
  close: () => true,

  getupdates: (bot, p, res) => getUpdates(bot, p, res),
  setwebhook: (bot, p) => {
    const url = p.url === undefined || p.url === null ? '' : String(p.url);
    if (truthy(p.drop_pending_updates)) bot.pending = [];
    if (url === '') {
      bot.webhook = null;
      return true;
    }
    if (!isLoopbackUrl(url)) {
      throw badRequest('bad webhook: this emulator only delivers to http(s) URLs on 127.0.0.1/localhost');
    }
    if (p.secret_token !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(p.secret_token)) {
      throw badRequest('secret token contains unallowed characters');
    }
    bot.webhook = compact({
      url,
      secret_token: p.secret_token,
      max_connections: optInt(p.max_connections, 'max_connections', 40),
      allowed_updates: Array.isArray(p.allowed_updates) ? p.allowed_updates : undefined,
      ip_address: p.ip_address,
    });
    bot.webhookError = null;
    bot.notify(); // a waiting getUpdates answers 409 now
    kickWebhook(bot);
    return true;
  },
  deletewebhook: (bot, p) => {
    if (truthy(p.drop_pending_updates)) bot.pending = [];
    bot.webhook = null;
    return true;
  },
  getwebhookinfo: (bot) => compact({
    url: bot.webhook ? bot.webhook.url : '',
    has_custom_certificate: false,
    pending_update_count: bot.pending.length,
    ip_address: bot.webhook ? bot.webhook.ip_address : undefined,
    last_error_date: bot.webhook && bot.webhookError ? bot.webhookError.date : undefined,
    last_error_message: bot.webhook && bot.webhookError ? bot.webhookError.message : undefined,
    max_connections: bot.webhook ? bot.webhook.max_connections : undefined,
    allowed_updates: bot.webhook ? bot.webhook.allowed_updates : undefined,
  }),

  sendmessage: (bot, p, _res, m) => {
    const c = writableChat(bot, p.chat_id);
    const { content, html } = textContent(p);
    return clone(newBotMessage(bot, c, content, p, m, { html }).message);
  },
  sendphoto: (bot, p, _res, m) => sendMedia(bot, p, m, 'photo'),
  senddocument: (bot, p, _res, m) => sendMedia(bot, p, m, 'document'),
  editmessagetext: (bot, p, _res, m) => editMessageText(bot, p, m),
  editmessagecaption: (bot, p, _res, m) => editMessageCaption(bot, p, m),
  editmessagereplymarkup: (bot, p, _res, m) => editMessageReplyMarkup(bot, p, m),
  deletemessage: (bot, p, _res, m) => {
    const c = chatOf(bot, p.chat_id);
    if (!deleteOne(bot, c, optInt(p.message_id, 'message_id', -1), m)) throw badRequest('message to delete not found');
    return true;
  },
  deletemessages: (bot, p, _res, m) => {
    const c = chatOf(bot, p.chat_id);
    if (!Array.isArray(p.message_ids) || p.message_ids.length < 1 || p.message_ids.length > 100) {
      throw badRequest('message_ids must be an array of 1-100 message identifiers');
    }
    if (isChannel(c)) channelRights(bot, c);
    for (const id of p.message_ids) {
      const rec = c.messages.get(toInt(id, 'message_ids'));
      if (rec && !rec.deleted && mayDelete(bot, c, rec)) deleteOne(bot, c, rec.message.message_id, m);
    } // missing and undeletable ones are skipped
    return true;
  },
  copymessage: (bot, p, _res, m) => copyOrForward(bot, p, m),
  forwardmessage: (bot, p, _res, m) => copyOrForward(bot, p, m),
  answercallbackquery: (bot, p) => {
    const id = String(p.callback_query_id ?? '');
    const cb = bot.callbacks.get(id);
    if (!cb || cb.answered) {
      if (cb) log(`[${bot.id}] callback query ${id} answered twice`);
      throw badRequest('query is too old and response timeout expired or query ID is invalid');
    }
    if (p.text !== undefined && String(p.text).length > 200) throw badRequest('MESSAGE_TOO_LONG');
    cb.answered = true;
    cb.answer = compact({ text: p.text, show_alert: truthy(p.show_alert), url: p.url, cache_time: p.cache_time });
    bot.notify();
    return true;
  },
  sendchataction: (bot, p) => {
    writableChat(bot, p.chat_id);
    if (!CHAT_ACTIONS.has(p.action)) throw badRequest('wrong parameter action in request');
    return true;
  },
  getchatmember: (bot, p) => getChatMember(bot, p),
  getchat: (bot, p) => getChat(bot, p),
  getchatadministrators: (bot, p) => {
    const c = chatOf(bot, p.chat_id);
    if (c.chat.type === 'private') throw badRequest('there are no administrators in the private chat');
    if (isChannel(c) && botStatusIn(bot, c) !== 'administrator') throw badRequest('member list is inaccessible');
    const admins = [];
    for (const [id, status] of c.members) {
      if (status !== 'creator' && status !== 'administrator') continue;
      if (id === bot.id) admins.push(isChannel(c) ? botChannelMember(bot, c) : chatMemberObject(bot.botUser(), status));
      else if (bot.users.has(id)) admins.push(getChatMember(bot, { chat_id: c.chat.id, user_id: id }));
    }
    return admins;
  },

  setmycommands: (bot, p) => setMyCommands(bot, p),
  getmycommands: (bot, p) => clone(bot.commands.get(commandsKey(p)) || []),
  deletemycommands: (bot, p) => {
    bot.commands.delete(commandsKey(p));
    return true;
  },
  setmydescription: (bot, p) => setText(bot, 'description', 512, p),
  getmydescription: (bot, p) => getText(bot, 'description', p),
  setmyshortdescription: (bot, p) => setText(bot, 'short_description', 120, p),
  getmyshortdescription: (bot, p) => getText(bot, 'short_description', p),
  setmyname: (bot, p) => setText(bot, 'name', 64, p),
  getmyname: (bot, p) => ({ name: bot.texts.name.get(p.language_code || '') ?? bot.firstName }),
  setchatmenubutton: (bot, p) => {
    bot.menuButtons.set(String(p.chat_id ?? ''), isObj(p.menu_button) ? p.menu_button : { type: 'default' });
    return true;
  },
  getchatmenubutton: (bot, p) => clone(bot.menuButtons.get(String(p.chat_id ?? '')) || bot.menuButtons.get('') || { type: 'commands' }),
};

/**
 * Calls are logged when they arrive (ok: null while in flight, e.g. a waiting long poll, so a
 * test can see "the bot is polling now") and completed with the outcome when answered.
 */
function recordCall(bot, method, params) {
  const entry = { seq: ++bot.callSeq, time: Date.now() / 1000, method, params, ok: null };
  bot.calls.push(entry);
  if (bot.calls.length > 10000) bot.calls.splice(0, bot.calls.length - 10000);
  bot.notify();
  return entry;
}

function completeCall(bot, entry, outcome) {
  Object.assign(entry, outcome);
  bot.notify();
}

async function handleBotApi(token, methodName, req, res, url) {
  const bot = getBot(token);
  const method = methodName.toLowerCase();
  let params = {};
  let entry = null;
  try {
    params = coerceParams(await parseParams(req, url));
    entry = recordCall(bot, methodName, params);
    const handler = METHODS[method];
    if (!handler) {
      log(`[${bot.id}] UNKNOWN METHOD ${methodName} ${brief(params)} -> 404 (add it to tests/e2e/emulator/server.js if the bot needs it)`);
      throw NOT_FOUND();
    }
    const result = await handler(bot, params, res, method);
    if (method !== 'getupdates' || result.length) {
      debug(`[${bot.id}] ${methodName} ${brief(params)} -> ok ${brief(result, 200)}`);
    }
    completeCall(bot, entry, { ok: true, result: method === 'getupdates' ? result.length : result });
    sendJson(res, 200, { ok: true, result });
  } catch (e) {
    if (!(e instanceof ApiError)) {
      log(`[${bot.id}] ${methodName} INTERNAL ERROR ${e.stack || e}`);
      e = new ApiError(500, `Internal Server Error: ${e.message}`);
    }
    log(`[${bot.id}] ${methodName} ${brief(params)} -> ${e.code} ${e.description}`);
    if (!entry) entry = recordCall(bot, methodName, params);
    completeCall(bot, entry, { ok: false, error_code: e.code, description: e.description });
    sendJson(res, e.code, { ok: false, error_code: e.code, description: e.description });
  }
}

// ---------------------------------------------------------------------------------------------
// Control API for tests: POST /_test/<name> with a JSON body (GET with query args also works).
// Replies {ok:true, result} or {ok:false, description} (HTTP 400/404).
// ---------------------------------------------------------------------------------------------

function controlBot(p) {
  if (!p.token) throw badRequest('token is required');
  return getBot(String(p.token));
}

const FILE_KINDS = { 'photo-s': 'photo', photo: 'photo', doc: 'document', sticker: 'sticker' };

/** A file object (PhotoSize, Document, Sticker) whose file_id this bot may send again. */
function fileStub(bot, kind, extra = {}) {
  const n = nextFileSeq++;
  const stub = { file_id: `${kind}-${bot.id}-${n}`, file_unique_id: `u${kind}${n}`, ...extra };
  bot.files.set(stub.file_id, { kind: FILE_KINDS[kind] || kind, stub: clone(stub) });
  return stub;
}

/** Leading "/command[@bot]" gets a bot_command entity, as Telegram clients produce. */
function autoEntities(text) {
  const m = /^\/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,32})?/.exec(text);
  return m ? [{ offset: 0, length: m[0].length, type: 'bot_command' }] : [];
}

function unblockIfNeeded(bot, c, user) {
  if (!c.blocked) return;
  c.blocked = false;
  addUpdate(bot, {
    my_chat_member: {
      chat: clone(c.chat), from: user, date: nowSec(),
      old_chat_member: { status: 'kicked', user: bot.botUser(), until_date: 0 },
      new_chat_member: { status: 'member', user: bot.botUser() },
    },
  });
}

const CONTROL = {
  health: () => ({ emulator: 'peerline-telegram-emulator', bots: bots.size }),

  /** Forget one bot's state (token given) or everything. Update ids stay monotonic. */
  reset: (p) => {
    const tokens = p.token ? [String(p.token)] : [...bots.keys()];
    for (const t of tokens) {
      const b = bots.get(t);
      if (!b) continue;
      b.removed = true;
      b.webhook = null;
      b.notify();
      bots.delete(t);
    }
    return { reset: tokens.length };
  },

  /** Bot identity returned by getMe / used as message sender. */
  bot: (p) => {
    const bot = controlBot(p);
    if (p.username) bot.username = String(p.username);
    if (p.first_name) bot.firstName = String(p.first_name);
    return bot.botUser();
  },

  /** Registers a chat without an update ("this user opened the bot earlier"). */
  chat: (p) => {
    const bot = controlBot(p);
    const user = makeUser(p.user);
    return clone(userChat(bot, user, p.chat).chat);
  },

  /** A user sends a message: text (commands get a bot_command entity), sticker, photo, document. */
  message: (p) => {
    const bot = controlBot(p);
    const user = makeUser(p.user);
    const c = userChat(bot, user, p.chat);
    unblockIfNeeded(bot, c, user);
    const content = {};
    if (p.text !== undefined && p.text !== null) {
      content.text = String(p.text);
      const ents = Array.isArray(p.entities) ? p.entities : autoEntities(content.text);
      if (ents.length) content.entities = ents;
    }
    if (p.sticker) {
      const s = isObj(p.sticker) ? p.sticker : {};
      content.sticker = fileStub(bot, 'sticker', {
        type: 'regular', width: 512, height: 512, is_animated: false, is_video: false,
        emoji: s.emoji || '\u{1F44D}', ...s,
      });
    }
    if (p.photo) {
      const ph = isObj(p.photo) ? p.photo : {};
      content.photo = [
        fileStub(bot, 'photo-s', { width: 90, height: 90, file_size: 1200 }),
        fileStub(bot, 'photo', { width: ph.width || 1280, height: ph.height || 960, file_size: ph.file_size || 150000 }),
      ];
    }
    if (p.document) {
      const d = isObj(p.document) ? p.document : {};
      content.document = fileStub(bot, 'doc', {
        file_name: d.file_name || 'file.pdf', mime_type: d.mime_type || 'application/pdf',
        file_size: d.file_size || 10240,
      });
    }
    if (p.caption !== undefined && p.caption !== null) content.caption = String(p.caption);
    if (isObj(p.extra)) Object.assign(content, p.extra);
    if (Object.keys(content).length === 0) throw badRequest('message needs text, sticker, photo, document or extra');
    const message = compact({
      message_id: c.nextMessageId++,
      from: user,
      chat: clone(c.chat),
      date: nowSec(),
      reply_to_message: replyTarget(c, p),
      ...content,
    });
    storeMessage(bot, c, message, { sender: 'user' });
    const update = addUpdate(bot, { message });
    return { update_id: update.update_id, message };
  },

  /** A user presses an inline button (by callback_data `data` or by `button` text/data). */
  callback: (p) => {
    const bot = controlBot(p);
    const user = makeUser(p.user);
    const c = p.chat_id !== undefined && p.chat_id !== null ? chatOf(bot, p.chat_id) : userChat(bot, user, null);
    bot.users.set(user.id, user);
    const messageId = toInt(p.message_id, 'message_id');
    const rec = c.messages.get(messageId);
    if (!rec || rec.deleted) throw badRequest(`message ${messageId} not found in chat ${c.chat.id} (deleted?)`);
    const rows = (rec.message.reply_markup && rec.message.reply_markup.inline_keyboard) || [];
    const buttons = rows.flat();
    let btn;
    if (p.data !== undefined && p.data !== null) btn = buttons.find((b) => b.callback_data === String(p.data));
    else if (p.button !== undefined && p.button !== null) {
      const want = String(p.button);
      btn = buttons.find((b) => b.text === want) || buttons.find((b) => b.callback_data === want);
    } else throw badRequest('give data or button');
    if (!btn) {
      const have = buttons.map((b) => `${JSON.stringify(b.text)}${b.callback_data !== undefined ? `=${JSON.stringify(b.callback_data)}` : ''}`);
      throw badRequest(`message ${messageId} has no button ${JSON.stringify(p.button ?? p.data)}; it has [${have.join(', ')}]`);
    }
    if (btn.callback_data === undefined) {
      throw badRequest(`button ${JSON.stringify(btn.text)} is not a callback button (${Object.keys(btn).join(',')}); pressing it does not reach the bot`);
    }
    const id = `${bot.id}${String(nextCallbackSeq++).padStart(6, '0')}`;
    const cq = {
      id,
      from: user,
      message: clone(rec.message),
      chat_instance: numericId(bot.token, c.chat.id),
      data: btn.callback_data,
    };
    bot.callbacks.set(id, { answered: false, answer: null, message_id: messageId, chat_id: c.chat.id });
    const update = addUpdate(bot, { callback_query: cq });
    return { update_id: update.update_id, callback_query: cq };
  },

  /** Waits (<= timeout s) until the bot answered a callback query; result null if it did not. */
  callback_answer: async (p, res) => {
    const bot = controlBot(p);
    const id = String(p.callback_query_id);
    if (!bot.callbacks.has(id)) throw badRequest('unknown callback_query_id');
    const v = await bot.waitFor(() => {
      const cb = bot.callbacks.get(id);
      return cb && cb.answered ? { answer: cb.answer } : null;
    }, waitMs(p), res);
    return v ? v.answer : null;
  },

  /** Any other update, verbatim (edited_message, my_chat_member, ...); update_id is assigned. */
  update: (p) => {
    const bot = controlBot(p);
    if (!isObj(p.update)) throw badRequest('update must be an object');
    const u = { ...p.update };
    delete u.update_id;
    return { update_id: addUpdate(bot, u).update_id };
  },

  /** The user blocks (blocked=true) or unblocks the bot: my_chat_member update + 403s on sends. */
  block: (p) => {
    const bot = controlBot(p);
    const user = makeUser(p.user);
    const c = userChat(bot, user, null);
    const blocked = p.blocked === undefined ? true : truthy(p.blocked);
    if (c.blocked === blocked) return { changed: false };
    if (!blocked) {
      unblockIfNeeded(bot, c, user);
      return { changed: true };
    }
    c.blocked = true;
    addUpdate(bot, {
      my_chat_member: {
        chat: clone(c.chat), from: user, date: nowSec(),
        old_chat_member: { status: 'member', user: bot.botUser() },
        new_chat_member: { status: 'kicked', user: bot.botUser(), until_date: 0 },
      },
    });
    return { changed: true };
  },

  /** Sets a user's status in a (group) chat for getChatMember. */
  chat_member: (p) => {
    const bot = controlBot(p);
    const c = chatOf(bot, p.chat_id);
    const status = String(p.status || 'member');
    if (!['creator', 'administrator', 'member', 'restricted', 'left', 'kicked'].includes(status)) throw badRequest('bad status');
    if (isObj(p.user)) bot.users.set(toInt(p.user.id, 'user.id'), makeUser(p.user));
    c.members.set(toInt(p.user_id ?? (p.user && p.user.id), 'user_id'), status);
    return true;
  },

  /**
   * Creates (or updates) a channel of this bot's Telegram: chat_id (-100 followed by digits),
   * title, username (optional: a public channel), admins (User objects, or ids of users the
   * emulator has seen), creator (the owner's id; default: the first admin). The bot is not in
   * it until one of its admins adds it with `channel_bot`. Returns the Chat.
   */
  channel: (p) => {
    const bot = controlBot(p);
    const id = toInt(p.chat_id, 'chat_id');
    if (!/^-100\d{7,}$/.test(String(id))) throw badRequest(`a channel id looks like -100xxxxxxxxxx, not ${id}`);
    if (!p.title) throw badRequest('title is required');
    const username = p.username ? String(p.username).replace(/^@/, '') : undefined;
    if (username !== undefined && !/^[A-Za-z][A-Za-z0-9_]{3,31}$/.test(username)) throw badRequest(`bad username ${username}`);
    const existing = bot.chats.get(id);
    if (existing && !isChannel(existing)) throw badRequest(`chat ${id} exists and is not a channel`);
    for (const other of bot.chats.values()) {
      if (other.chat.id !== id && username && (other.chat.username || '').toLowerCase() === username.toLowerCase()) {
        throw badRequest(`username ${username} is taken by chat ${other.chat.id}`);
      }
    }
    const admins = (Array.isArray(p.admins) ? p.admins : []).map((a) => {
      if (isObj(a)) return makeUser(a);
      const known = bot.users.get(toInt(a, 'admins'));
      if (!known) throw badRequest(`admin ${a} is unknown to the emulator: give a User object`);
      return known;
    });
    const creator = p.creator === undefined || p.creator === null ? (admins[0] && admins[0].id) : toInt(p.creator, 'creator');
    if (creator !== undefined && !admins.some((u) => u.id === creator)) throw badRequest('creator must be one of the admins');
    const c = ensureChat(bot, compact({ id, type: 'channel', title: String(p.title), username }));
    for (const [uid] of c.members) if (uid !== bot.id) c.members.delete(uid); // the new admin list
    for (const u of admins) {
      bot.users.set(u.id, u);
      c.members.set(u.id, u.id === creator ? 'creator' : 'administrator');
    }
    return clone(c.chat);
  },

  /**
   * One of a channel's admins (`user`) adds the bot as an administrator (status
   * "administrator", the default; can_post_messages / can_edit_messages / can_delete_messages,
   * each true unless given), changes its rights, or removes it (status "left", or "kicked").
   * Telegram then sends the bot `my_chat_member` with from = that user; nothing when nothing
   * changed. Result: {changed, update_id?}.
   */
  channel_bot: (p) => {
    const bot = controlBot(p);
    const c = chatOf(bot, p.chat_id);
    if (!isChannel(c)) throw badRequest(`chat ${c.chat.id} is not a channel`);
    const user = makeUser(p.user);
    if (!['creator', 'administrator'].includes(c.members.get(user.id))) {
      throw badRequest(`user ${user.id} is not an administrator of channel ${c.chat.id}: only its admins can add or remove bots`);
    }
    bot.users.set(user.id, user);
    const status = String(p.status || 'administrator');
    if (!['administrator', 'left', 'kicked'].includes(status)) {
      throw badRequest('status must be administrator, left or kicked (a bot cannot be a plain channel member)');
    }
    const right = (name) => (p[name] === undefined || p[name] === null ? true : truthy(p[name]));
    const rights = status === 'administrator'
      ? { can_post_messages: right('can_post_messages'), can_edit_messages: right('can_edit_messages'), can_delete_messages: right('can_delete_messages') }
      : null;
    if (botStatusIn(bot, c) === status && deepEqual(c.botRights, rights)) return { changed: false };
    const before = botChannelMember(bot, c);
    c.members.set(bot.id, status);
    c.botRights = rights;
    const update = addUpdate(bot, {
      my_chat_member: {
        chat: clone(c.chat), from: user, date: nowSec(),
        old_chat_member: before, new_chat_member: botChannelMember(bot, c),
      },
    });
    return { changed: true, update_id: update.update_id };
  },

  /** Makes a message `seconds` older (e.g. past the 48 hours in which bots may delete it). */
  backdate: (p) => {
    const bot = controlBot(p);
    const c = chatOf(bot, p.chat_id);
    const rec = c.messages.get(toInt(p.message_id, 'message_id'));
    if (!rec) throw badRequest('message not found');
    rec.message.date -= toInt(p.seconds, 'seconds');
    return { date: rec.message.date };
  },

  /**
   * What the bot did to messages (sent / edited / deleted), with seq > since, optionally for one
   * chat; waits up to `timeout` seconds for at least one. `cursor` is the seq to pass next time.
   */
  events: async (p, res) => {
    const bot = controlBot(p);
    const since = optInt(p.since, 'since', 0);
    const chatId = p.chat_id === undefined || p.chat_id === null ? null : toInt(p.chat_id, 'chat_id');
    const pick = () => bot.events.filter((e) => e.seq > since && (chatId === null || e.chat_id === chatId));
    await bot.waitFor(() => (pick().length ? true : null), waitMs(p), res);
    return { events: pick(), cursor: bot.eventSeq };
  },

  /** Bot API calls with seq > since (optionally one method); waits up to `timeout` s for one. */
  calls: async (p, res) => {
    const bot = controlBot(p);
    const since = optInt(p.since, 'since', 0);
    const method = p.method ? String(p.method).toLowerCase() : null;
    const pick = () => bot.calls.filter((c) => c.seq > since && (!method || c.method.toLowerCase() === method));
    await bot.waitFor(() => (pick().length ? true : null), waitMs(p), res);
    return { calls: pick(), cursor: bot.callSeq };
  },

  /** Current state of every message in a chat (user's and bot's), oldest first. */
  transcript: (p) => {
    const bot = controlBot(p);
    const c = bot.chats.get(toInt(p.chat_id, 'chat_id'));
    if (!c) return [];
    return [...c.messages.values()].map((r) => ({
      sender: r.sender, deleted: r.deleted, message: clone(r.message), html: r.html,
      reply_keyboard: clone(r.replyKeyboard),
    }));
  },

  /** Summary for debugging and readiness checks. */
  state: (p) => {
    const bot = controlBot(p);
    const cmds = {};
    for (const [k, v] of bot.commands) cmds[k] = v;
    const texts = {};
    for (const [kind, m] of Object.entries(bot.texts)) texts[kind] = Object.fromEntries(m);
    return {
      bot: bot.botUser(),
      webhook: bot.webhook ? { ...bot.webhook, last_error: bot.webhookError } : null,
      pending_update_count: bot.pending.length,
      pending_update_ids: bot.pending.map((u) => u.update_id),
      delivered_update_count: bot.delivered,
      last_poll_at: bot.lastPollAt ? bot.lastPollAt / 1000 : null,
      chats: [...bot.chats.values()].map((c) => compact({
        ...c.chat, blocked: c.blocked, messages: c.messages.size,
        bot_status: isChannel(c) ? botStatusIn(bot, c) : undefined,
        bot_rights: isChannel(c) ? c.botRights : undefined,
      })),
      commands: cmds,
      texts,
      event_cursor: bot.eventSeq,
      call_cursor: bot.callSeq,
    };
  },

  /**
   * Answers any waiting getUpdates of this bot with [] right away. The driver calls it while
   * stopping a bot: PTB's graceful stop waits for the in-flight long poll (up to its timeout,
   * 10 s by default), and Telegram may answer a long poll early with no updates anyway.
   */
  release_polls: (p) => {
    const bot = controlBot(p);
    bot.releaseGeneration += 1;
    bot.notify();
    return true;
  },

  /** Waits (<= timeout s) until no updates are pending (the bot fetched/acknowledged them all). */
  wait_idle: async (p, res) => {
    const bot = controlBot(p);
    const v = await bot.waitFor(() => (bot.pending.length === 0 ? true : null), waitMs(p), res);
    return { idle: Boolean(v), pending_update_count: bot.pending.length };
  },
};

function waitMs(p) {
  const t = p.timeout === undefined ? 0 : Number(p.timeout);
  if (!Number.isFinite(t) || t < 0) throw badRequest('timeout must be a number of seconds');
  return Math.min(t * 1000, MAX_CONTROL_WAIT_MS);
}

async function handleControl(name, req, res, url) {
  try {
    const handler = Object.prototype.hasOwnProperty.call(CONTROL, name) ? CONTROL[name] : null;
    if (!handler) throw NOT_FOUND();
    const p = await parseParams(req, url); // control params are JSON; query strings stay strings
    const result = await handler(p, res);
    sendJson(res, 200, { ok: true, result: result === undefined ? null : result });
  } catch (e) {
    if (!(e instanceof ApiError)) {
      log(`control ${name} INTERNAL ERROR ${e.stack || e}`);
      e = new ApiError(500, `Internal Server Error: ${e.message}`);
    }
    log(`control ${name} -> ${e.code} ${e.description}`);
    sendJson(res, e.code, { ok: false, error_code: e.code, description: e.description });
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------------------------

function sendJson(res, status, body) {
  if (res.writableEnded || res.destroyed) return;
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, `http://${HOST}`);
  const path = url.pathname;
  let m;
  if (req.method !== 'GET' && req.method !== 'POST') {
    sendJson(res, 405, { ok: false, error_code: 405, description: 'Method Not Allowed' });
  } else if ((m = /^\/bot([^/]+)\/([A-Za-z0-9_]+)\/?$/.exec(path))) {
    handleBotApi(decodeURIComponent(m[1]), m[2], req, res, url);
  } else if ((m = /^\/_test\/([a-z_]+)\/?$/.exec(path))) {
    handleControl(m[1], req, res, url);
  } else {
    // includes /file/bot<token>/... (file downloads are not emulated)
    log(`unhandled ${req.method} ${path} -> 404`);
    req.resume();
    sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
  }
});
// getUpdates may legitimately hold a request for up to 50 s.
server.requestTimeout = 0;
server.keepAliveTimeout = 65000;

function shutdown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  log(`${signal}: shutting down`);
  for (const b of bots.values()) {
    b.removed = true;
    b.notify(); // answer waiting long polls
  }
  server.close(() => process.exit(0));
  if (server.closeAllConnections) setTimeout(() => server.closeAllConnections(), 200).unref();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

if (CONFIG.parentPid) {
  setInterval(() => {
    try {
      process.kill(CONFIG.parentPid, 0);
    } catch {
      shutdown(`parent ${CONFIG.parentPid} gone`);
    }
  }, 1000).unref();
}

server.on('error', (e) => {
  log(`server error: ${e.stack || e}`);
  process.exit(1);
});
server.listen(CONFIG.port, HOST, () => {
  const { port } = server.address();
  log(`Telegram Bot API emulator on http://${HOST}:${port} (Bot API root; control API under /_test/)`);
  process.stdout.write(`TG_EMULATOR_LISTENING port=${port}\n`);
});
