/** The API version the emulator's shapes follow (pinned by stripe-node 23.x). */
export const API_VERSION = "2026-10-28.endive";
