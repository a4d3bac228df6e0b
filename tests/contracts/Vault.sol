// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Vault
/// @notice Contract-call fixtures for WAIaaS tests: a payable method that records what it
///         received, and a method that always reverts with a reason string.
contract Vault {
    mapping(address => uint256) public deposits;
    uint256 public total;

    event Deposited(address indexed from, uint256 value);

    /// Record `msg.value` for the caller.
    function deposit() external payable {
        deposits[msg.sender] += msg.value;
        total += msg.value;
        emit Deposited(msg.sender, msg.value);
    }

    /// Always reverts with `Error("nope")`.
    function fail() external pure {
        revert("nope");
    }
}
