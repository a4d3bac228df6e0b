// Copied by install.sh into the package cache (next to its node_modules) so that server.mjs and
// selftest.mjs, which live in the repo without node_modules, can load the pinned packages:
// they import this file by its absolute path and bare specifiers resolve from the cache.
export * as core from "@x402/core";
export * as coreClient from "@x402/core/client";
export * as coreServer from "@x402/core/server";
export * as coreFacilitator from "@x402/core/facilitator";
export * as coreHttp from "@x402/core/http";
export * as evm from "@x402/evm";
export * as evmClient from "@x402/evm/exact/client";
export * as evmServer from "@x402/evm/exact/server";
export * as evmFacilitator from "@x402/evm/exact/facilitator";
export * as x402Express from "@x402/express";
export * as x402Fetch from "@x402/fetch";
export * as viem from "viem";
export * as viemAccounts from "viem/accounts";
export { default as express } from "express";
export * as svm from "@x402/svm";
export * as svmClient from "@x402/svm/exact/client";
export * as svmServer from "@x402/svm/exact/server";
export * as svmFacilitator from "@x402/svm/exact/facilitator";
export * as solanaKit from "@solana/kit";
export * as solanaSystem from "@solana-program/system";
export * as solanaToken from "@solana-program/token";
export * as solanaToken2022 from "@solana-program/token-2022";
