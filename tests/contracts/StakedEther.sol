// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title StakedEther
/// @notice The part of Lido's stETH that staking goes through, for WAIaaS tests (the
///         `lido_staking` action provider): `submit(address referral)` (payable) takes ETH and
///         mints the sender shares, 1:1 until rewards accrue, with Lido's `Submitted`,
///         `Transfer` and `TransferShares` events. Balances in ETH (`balanceOf`,
///         `getPooledEthByShares`) follow the pooled ETH, which `addRewards` (the test's stand-in
///         for Lido's oracle report) raises.
contract StakedEther {
    string public constant name = "Liquid staked Ether 2.0";
    string public constant symbol = "stETH";
    uint8 public constant decimals = 18;

    uint256 public totalShares;
    uint256 public totalPooledEther;
    mapping(address => uint256) public sharesOf;

    event Submitted(address indexed sender, uint256 amount, address referral);
    event Transfer(address indexed from, address indexed to, uint256 value);
    event TransferShares(address indexed from, address indexed to, uint256 sharesValue);

    /// @notice Stake `msg.value`; returns the shares minted to the sender.
    function submit(address _referral) external payable returns (uint256) {
        require(msg.value != 0, "ZERO_DEPOSIT");
        uint256 shares = getSharesByPooledEth(msg.value);
        totalShares += shares;
        sharesOf[msg.sender] += shares;
        totalPooledEther += msg.value;
        emit Submitted(msg.sender, msg.value, _referral);
        emit Transfer(address(0), msg.sender, getPooledEthByShares(shares));
        emit TransferShares(address(0), msg.sender, shares);
        return shares;
    }

    function getSharesByPooledEth(uint256 ethAmount) public view returns (uint256) {
        return totalPooledEther == 0 ? ethAmount : (ethAmount * totalShares) / totalPooledEther;
    }

    function getPooledEthByShares(uint256 sharesAmount) public view returns (uint256) {
        return totalShares == 0 ? 0 : (sharesAmount * totalPooledEther) / totalShares;
    }

    function balanceOf(address account) external view returns (uint256) {
        return getPooledEthByShares(sharesOf[account]);
    }

    function totalSupply() external view returns (uint256) {
        return totalPooledEther;
    }

    /// @notice Test only: staking rewards arrive (every holder's balance grows pro rata).
    function addRewards() external payable {
        totalPooledEther += msg.value;
    }
}
